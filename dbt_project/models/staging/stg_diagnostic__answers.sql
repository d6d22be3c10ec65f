select
    cast(instrument_id as varchar) as instrument_id,
    cast(collaboration_id as varchar) as collaboration_id,
    cast(wave as integer) as wave,
    cast(respondent_key as varchar) as respondent_key,
    cast(item_id as varchar) as item_id,
    cast(characteristic_id as varchar) as characteristic_id,
    cast(answer_value as integer) as answer_value,
    cast(score_value as double) as score_value
from {{ source('clean', 'diagnostic_answers') }}
