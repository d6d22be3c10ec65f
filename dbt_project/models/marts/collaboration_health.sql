-- Collaboration health per characteristic and wave. Each member organisation counts
-- equally (score = mean of organisation scores), so a large trust does not drown a small
-- partner. 95% interval: score ± 1.96 × SE with SE = sqrt(Σ s_k² / n_k) / K over the K
-- organisations (s_k² the within-organisation variance of respondent scores; where an
-- organisation has one respondent, the variance of all the group's respondents), clipped
-- to the scale. Groups under var('min_group_size') respondents are suppressed. Means,
-- variances and sums are exact aggregates (macros/exact_arithmetic.sql), so every figure is
-- the same on every build.
{%- set min_group = var('min_group_size') %}
with organisation_scores as (
    select * from {{ ref('int_organisation_characteristic_scores') }}
),

respondent_scores as (
    select * from {{ ref('int_respondent_characteristic_scores') }}
),

characteristics as (
    select * from {{ ref('stg_diagnostic__characteristics') }}
),

alpha as (
    select * from {{ ref('int_characteristic_alpha') }}
),

group_variance as (
    select collaboration_id, wave, characteristic_id, {{ exact_var_samp('respondent_score') }} as all_variance
    from respondent_scores
    group by 1, 2, 3
),

collaboration_scores as (
    select
        organisation_scores.collaboration_id,
        organisation_scores.wave,
        organisation_scores.instrument_id,
        organisation_scores.characteristic_id,
        {{ exact_avg('organisation_scores.organisation_score') }} as raw_score,
        sqrt(cast({{ exact_sum(
            'coalesce(organisation_scores.respondent_variance, group_variance.all_variance)'
            ~ ' / organisation_scores.n_respondents') }} as double)) / count(*) as standard_error,
        sum(organisation_scores.n_respondents) as n_respondents,
        count(*) as n_organisations,
        max(
            case
                when organisation_scores.n_respondents >= {{ min_group }} then organisation_scores.organisation_score
            end
        )
        - min(
            case
                when organisation_scores.n_respondents >= {{ min_group }} then organisation_scores.organisation_score
            end
        )
            as raw_gap,
        sum(case when organisation_scores.n_respondents >= {{ min_group }} then 1 else 0 end)
            as n_reportable_organisations
    from organisation_scores
    left join group_variance
        on
            organisation_scores.collaboration_id = group_variance.collaboration_id
            and organisation_scores.wave = group_variance.wave
            and organisation_scores.characteristic_id = group_variance.characteristic_id
    group by 1, 2, 3, 4
),

scored as (
    select
        collaboration_scores.*,
        characteristics.characteristic_name,
        characteristics.scale_min,
        characteristics.scale_max,
        collaboration_scores.n_respondents < {{ min_group }} as is_suppressed,
        alpha.cronbach_alpha as raw_alpha
    from collaboration_scores
    inner join characteristics
        on
            collaboration_scores.instrument_id = characteristics.instrument_id
            and collaboration_scores.characteristic_id = characteristics.characteristic_id
    left join alpha
        on
            collaboration_scores.collaboration_id = alpha.collaboration_id
            and collaboration_scores.wave = alpha.wave
            and collaboration_scores.characteristic_id = alpha.characteristic_id
),

published as (
    select
        collaboration_id,
        wave,
        characteristic_id as characteristic,
        characteristic_name,
        instrument_id,
        scale_min,
        scale_max,
        case when not is_suppressed then {{ round_half_up('raw_score', 2) }} end as score,
        {{ interval_bound('raw_score', 'standard_error', 'low') }} as ci_low,
        {{ interval_bound('raw_score', 'standard_error', 'high') }} as ci_high,
        n_respondents,
        n_organisations,
        {{ wilder_band('raw_score', 'scale_min', 'scale_max') }} as raw_band,
        case
            when not is_suppressed and n_reportable_organisations >= 2 then {{ round_half_up('raw_gap', 2) }}
        end as perception_gap,
        -- round_half_up: the decimal value, so an alpha exactly halfway (0.4315, stored in
        -- binary as 0.43149999...) is published half-up.
        case when not is_suppressed then {{ round_half_up('raw_alpha', 3) }} end as cronbach_alpha,
        case when not is_suppressed then raw_score end as unrounded_score,
        is_suppressed
    from scored
)

select
    collaboration_id,
    wave,
    characteristic,
    characteristic_name,
    instrument_id,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max,
    score,
    ci_low,
    ci_high,
    cast(n_respondents as integer) as n_respondents,
    cast(n_organisations as integer) as n_organisations,
    case when not is_suppressed then raw_band end as band,
    -- From the unrounded scores, then rounded: it can differ by 0.01 from the difference of
    -- the two published scores.
    {{ round_half_up(
        'unrounded_score - lag(unrounded_score) over (partition by collaboration_id, characteristic order by wave)', 2
    ) }} as score_change,
    perception_gap,
    cronbach_alpha,
    is_suppressed
from published
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, wave, characteristic  -- noqa: AM06
