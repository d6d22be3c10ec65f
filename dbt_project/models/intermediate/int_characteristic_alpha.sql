-- Cronbach's alpha per collaboration, wave and characteristic (see macros/cronbach_alpha.sql).
{{ config(materialized='table') }}
{{ cronbach_alpha(['collaboration_id', 'wave']) }}
