{#- The bootstrap's draws (macros/random_index.sql) are the same numbers on every engine: each
    case's group seed and draw must equal the values of the Python reference implementation
    (tests/test_portable_sql.py re-derives them). Returns the cases that differ. Attached to
    health_outcome_association, whose intervals come from these draws; it reads no table. -#}
{% test random_draws_match_the_reference(model) %}
with cases as (
    select reference_cases.*
    from (
        values
        ('shared_purpose', 'ae_4h_all', 1, 1, 12, 3727371927, 4),
        ('shared_purpose', 'ae_4h_all', 1, 2, 12, 3727371927, 6),
        ('shared_purpose', 'ae_4h_all', 1000, 12, 12, 3727371927, 1),
        ('trust', 'emergency_admissions', 17, 5, 50, 4031259155, 35),
        ('trust', 'emergency_admissions', 999, 50, 50, 4031259155, 12),
        ('governance', 'shmi', 3, 1, 1, 1899388136, 1)
    ) as reference_cases (
        characteristic, metric_id, resample_number, draw_number, n_collaborations, expected_seed, expected_draw
    )
),

seeded as (
    select
        *,
        {{ stable_hash([20240801, 'characteristic', 'metric_id']) }} as group_seed
    from cases
),

drawn as (
    select
        *,
        {{ random_index(['group_seed', 'resample_number', 'draw_number'], 'n_collaborations') }} as drawn_number
    from seeded
)

select *
from drawn
where group_seed <> expected_seed or drawn_number <> expected_draw
{% endtest %}
