select
    cast(instrument_id as string) as instrument_id,
    cast(characteristic_id as string) as characteristic_id,
    cast(characteristic_name as string) as characteristic_name,
    cast(description as string) as characteristic_description,
    cast(category as string) as category,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max
from {{ source('clean', 'instrument_characteristics') }}
