-- The characteristics each instrument codebook scores, with their descriptions and scale.
select
    instrument_id,
    characteristic_id as characteristic,
    characteristic_name,
    characteristic_description,
    category,
    scale_min,
    scale_max
from {{ ref('stg_diagnostic__characteristics') }}
-- In grain order, so the table's rows are stored in the same order on every build.
order by instrument_id, characteristic
