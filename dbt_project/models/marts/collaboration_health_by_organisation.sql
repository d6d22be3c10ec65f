-- Collaboration health per member organisation: the organisation's respondents only.
-- 95% interval: score ± 1.96 × s / sqrt(n), clipped to the scale. Organisations with fewer
-- than var('min_group_size') respondents are suppressed (their count stays visible), and so
-- (complementary suppression) are the next smallest organisations until the suppressed
-- ones hold at least that many respondents together: otherwise one small organisation's
-- score could be recovered from the collaboration score minus the others'.
{%- set min_group = var('min_group_size') %}
with organisation_scores as (
    select * from {{ ref('int_organisation_characteristic_scores') }}
),

characteristics as (
    select * from {{ ref('stg_diagnostic__characteristics') }}
),

alpha as (
    select * from {{ ref('int_organisation_characteristic_alpha') }}
),

scored as (
    select
        organisation_scores.*,
        characteristics.characteristic_name,
        characteristics.scale_min,
        characteristics.scale_max,
        sqrt(organisation_scores.respondent_variance / organisation_scores.n_respondents) as standard_error,
        organisation_scores.n_respondents < {{ min_group }} as is_small_group,
        max(case when organisation_scores.n_respondents < {{ min_group }} then 1 else 0 end) over (
            partition by
                organisation_scores.collaboration_id, organisation_scores.wave, organisation_scores.characteristic_id
        ) = 1 as has_small_group,
        coalesce(sum(organisation_scores.n_respondents) over (
            partition by
                organisation_scores.collaboration_id, organisation_scores.wave, organisation_scores.characteristic_id
            order by organisation_scores.n_respondents, organisation_scores.organisation_code
            rows between unbounded preceding and 1 preceding
        ), 0) as n_respondents_smaller,
        alpha.cronbach_alpha as raw_alpha
    from organisation_scores
    inner join characteristics
        on
            organisation_scores.instrument_id = characteristics.instrument_id
            and organisation_scores.characteristic_id = characteristics.characteristic_id
    left join alpha
        on
            organisation_scores.collaboration_id = alpha.collaboration_id
            and organisation_scores.wave = alpha.wave
            and organisation_scores.organisation_code = alpha.organisation_code
            and organisation_scores.characteristic_id = alpha.characteristic_id
),

flagged as (
    select
        *,
        is_small_group or (has_small_group and n_respondents_smaller < {{ min_group }}) as is_suppressed,
        case
            when is_small_group then 'small_group'
            when has_small_group and n_respondents_smaller < {{ min_group }} then 'complementary'
        end as suppression_reason
    from scored
),

published as (
    select
        collaboration_id,
        wave,
        organisation_code,
        characteristic_id as characteristic,
        characteristic_name,
        instrument_id,
        scale_min,
        scale_max,
        case when not is_suppressed then {{ round_half_up('organisation_score', 2) }} end as score,
        {{ interval_bound('organisation_score', 'standard_error', 'low') }} as ci_low,
        {{ interval_bound('organisation_score', 'standard_error', 'high') }} as ci_high,
        n_respondents,
        case when not is_suppressed then {{ wilder_band('organisation_score', 'scale_min', 'scale_max') }} end as band,
        -- round_half_up: the decimal value, so an alpha exactly halfway (0.4315, stored in
        -- binary as 0.43149999...) is published half-up.
        case when not is_suppressed then {{ round_half_up('raw_alpha', 3) }} end as cronbach_alpha,
        case when not is_suppressed then organisation_score end as unrounded_score,
        is_suppressed,
        suppression_reason
    from flagged
)

select
    collaboration_id,
    wave,
    organisation_code,
    characteristic,
    characteristic_name,
    instrument_id,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max,
    score,
    ci_low,
    ci_high,
    cast(n_respondents as integer) as n_respondents,
    band,
    -- From the unrounded scores, then rounded (see collaboration_health).
    {{ round_half_up(
        'unrounded_score - lag(unrounded_score) over (
            partition by collaboration_id, organisation_code, characteristic order by wave)', 2
    ) }} as score_change,
    cronbach_alpha,
    is_suppressed,
    suppression_reason
from published
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, wave, organisation_code, characteristic
