select
    cast(instrument_id as varchar) as instrument_id,
    cast(collaboration_id as varchar) as collaboration_id,
    cast(wave as integer) as wave,
    cast(respondent_key as varchar) as respondent_key,
    cast(organisation_code as varchar) as organisation_code,
    cast(partner_code as varchar) as partner_code,
    cast(item_id as varchar) as item_id,
    cast(dimension as varchar) as dimension,
    cast(answer_value as integer) as answer_value,
    cast(layout as varchar) as layout
from {{ source('clean', 'diagnostic_partner_ratings') }}
