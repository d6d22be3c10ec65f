-- Cronbach's alpha per collaboration, wave, organisation and characteristic.
{{ cronbach_alpha(['collaboration_id', 'wave', 'organisation_code']) }}
