select
    cast(instrument_id as string) as instrument_id,
    cast(collaboration_id as string) as collaboration_id,
    cast(wave as integer) as wave,
    cast(respondent_key as string) as respondent_key,
    cast(organisation_code as string) as organisation_code,
    cast(partner_code as string) as partner_code,
    cast(item_id as string) as item_id,
    cast(dimension as string) as dimension,
    cast(answer_value as integer) as answer_value,
    cast(layout as string) as layout
from {{ source('clean', 'diagnostic_partner_ratings') }}
