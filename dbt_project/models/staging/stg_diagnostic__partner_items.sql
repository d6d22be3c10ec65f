select
    cast(instrument_id as string) as instrument_id,
    cast(item_id as string) as item_id,
    cast(dimension as string) as dimension,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max,
    cast(high_from as double) as high_from
from {{ source('clean', 'instrument_partner_items') }}
