-- Cronbach's alpha per collaboration, wave, organisation and characteristic.
{{ config(materialized='table') }}
{{ cronbach_alpha(['collaboration_id', 'wave', 'organisation_code']) }}
