select
    cast(instrument_id as string) as instrument_id,
    cast(collaboration_id as string) as collaboration_id,
    cast(wave as integer) as wave,
    cast(respondent_key as string) as respondent_key,
    cast(item_id as string) as item_id,
    cast(characteristic_id as string) as characteristic_id,
    cast(answer_value as integer) as answer_value,
    cast(score_value as double) as score_value
from {{ source('clean', 'diagnostic_answers') }}
