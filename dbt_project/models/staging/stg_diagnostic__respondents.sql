select
    cast(instrument_id as varchar) as instrument_id,
    cast(collaboration_id as varchar) as collaboration_id,
    cast(wave as integer) as wave,
    cast(respondent_key as varchar) as respondent_key,
    cast(organisation_code as varchar) as organisation_code,
    cast(role_group as varchar) as role_group,
    cast(submitted_at as timestamp) as submitted_at
from {{ source('clean', 'diagnostic_respondents') }}
