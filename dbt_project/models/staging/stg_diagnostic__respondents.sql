select
    cast(instrument_id as string) as instrument_id,
    cast(collaboration_id as string) as collaboration_id,
    cast(wave as integer) as wave,
    cast(respondent_key as string) as respondent_key,
    cast(organisation_code as string) as organisation_code,
    cast(role_group as string) as role_group,
    cast(submitted_at as timestamp) as submitted_at
from {{ source('clean', 'diagnostic_respondents') }}
