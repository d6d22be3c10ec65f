-- Cronbach's alpha per collaboration, wave and characteristic (see macros/cronbach_alpha.sql).
{{ cronbach_alpha(['collaboration_id', 'wave']) }}
