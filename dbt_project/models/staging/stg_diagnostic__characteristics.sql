select
    cast(instrument_id as varchar) as instrument_id,
    cast(characteristic_id as varchar) as characteristic_id,
    cast(characteristic_name as varchar) as characteristic_name,
    cast(description as varchar) as characteristic_description,
    cast(category as varchar) as category,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max
from {{ source('clean', 'instrument_characteristics') }}
