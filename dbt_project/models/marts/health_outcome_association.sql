-- Association between collaboration health and the later movement of each outcome metric:
-- one row per characteristic × metric, over the pairs (collaboration-waves) that have both
-- a health score (the wave's group not suppressed) and a directed change (follow-up minus
-- baseline, signed so that positive is the way the collaboration wants it to move). The
-- partner network's measures (collaboration_network, through outcome_linked_collaboration)
-- are rows too, `measure_kind` 'network', under the same rules.
--
-- Spearman's rho = Pearson correlation of average ranks, ties sharing the mean of the
-- positions they span (macros average_rank, rank_correlation). It and its interval are
-- published only when the pairs come from at least var('association_min_collaborations')
-- collaborations.
--
-- 95% interval: percentile cluster bootstrap. The collaboration is resampled, not the pair,
-- as a collaboration's waves are not independent: each of
-- var('association_bootstrap_resamples') resamples draws K collaborations with replacement
-- from the K with pairs, and every draw brings all that collaboration's pairs as a separate
-- copy (drawn twice = its pairs twice). Ranks are recomputed within each resample; a
-- resample where either variable is constant has no rho and is left out; the interval is
-- the 2.5th and 97.5th percentile (percentile_cont) of the other resamples' rhos. Draw d
-- of resample b is collaboration number random_index(stable_hash(seed, characteristic,
-- metric), b, d) (macros/random_index.sql; seed var('association_bootstrap_seed')): integer
-- arithmetic spelt out in SQL, so a rebuild, on DuckDB or Spark, gives identical numbers.
-- Resample numbers come from a digits cross join (macro integers): no recursion.
--
-- Speed (~50 collaborations × 3 waves × 200 characteristic-metrics, 1000 resamples: ~27M
-- resampled rows, two window sorts; 11-13 s on the 2-core development machine): the
-- resampled rows carry no text, each resample is partitioned by one integer, resample_key,
-- rather than (characteristic, metric_id, resample), and each draw hashes integers only
-- (the group's seed is hashed once); with text keys the same build took over 3 minutes.
{%- set min_collaborations = var('association_min_collaborations') | int %}
{%- set resamples = var('association_bootstrap_resamples') | int %}
{%- set seed = var('association_bootstrap_seed') | int %}
{%- set decimals = 4 %}
{#- Network measures (issue 20) beside the characteristics: column of outcome_linked_collaboration, name. -#}
{%- set network_measures = [
    ('network_density', 'Network density'),
    ('network_reciprocity', 'Network reciprocity'),
    ('network_degree_centralisation', 'Network degree centralisation'),
    ('network_mean_trust', 'Network mean trust'),
    ('network_mean_value', 'Network mean value'),
] %}
with characteristic_pairs as (
    select
        collaboration_id,
        wave,
        characteristic,
        characteristic_name,
        metric_id,
        period_grain,
        health_score,
        directed_change,
        'characteristic' as measure_kind
    from {{ ref('outcome_linked_collaboration_by_characteristic') }}
),

-- Each network measure enters as a further "characteristic": its value at the wave in place
-- of a health score, the same directed change (left out when provisional, as above), the
-- same rules after.
network_pairs as (
    {%- for column, name in network_measures %}
        select
            collaboration_id,
            wave,
            '{{ column }}' as characteristic,
            '{{ name }}' as characteristic_name,
            metric_id,
            period_grain,
            {{ column }} as health_score,
            case when not is_provisional then directed_change end as directed_change,
            'network' as measure_kind
        from {{ ref('outcome_linked_collaboration') }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

linked as (
    select * from characteristic_pairs
    union all
    select * from network_pairs
),

-- Every characteristic × metric of the input gets a row, even one without pairs.
association_keys as (
    select
        characteristic,
        metric_id,
        max(characteristic_name) as characteristic_name,
        max(period_grain) as period_grain,
        max(measure_kind) as measure_kind
    from linked
    group by characteristic, metric_id
),

pairs as (
    select characteristic, metric_id, collaboration_id, wave, health_score, directed_change
    from linked
    where health_score is not null and directed_change is not null
),

-- Point estimate.
ranked_pairs as (
    select
        characteristic,
        metric_id,
        collaboration_id,
        {{ average_rank('health_score', 'characteristic, metric_id') }} as health_rank,
        {{ average_rank('directed_change', 'characteristic, metric_id') }} as change_rank
    from pairs
),

estimates as (
    select
        characteristic,
        metric_id,
        count(*) as n_pairs,
        count(distinct collaboration_id) as n_collaborations,
        {{ rank_correlation('health_rank', 'change_rank') }} as rank_correlation
    from ranked_pairs
    group by characteristic, metric_id
),

-- Bootstrap, only where the estimate is published. Each characteristic × metric gets a
-- number and a seed of its own; its K collaborations are numbered 1..K by id.
bootstrap_groups as (
    select
        characteristic,
        metric_id,
        n_collaborations,
        row_number() over (order by characteristic, metric_id) as group_number,
        {{ stable_hash([seed, 'characteristic', 'metric_id']) }} as group_seed
    from estimates
    where n_collaborations >= {{ min_collaborations }}
),

collaborations as (
    select
        bootstrap_groups.group_number,
        bootstrap_groups.group_seed,
        bootstrap_groups.n_collaborations,
        distinct_collaborations.collaboration_id,
        row_number() over (
            partition by bootstrap_groups.group_number order by distinct_collaborations.collaboration_id
        ) as collaboration_number
    from (select distinct characteristic, metric_id, collaboration_id from pairs) as distinct_collaborations
    inner join bootstrap_groups
        on
            distinct_collaborations.characteristic = bootstrap_groups.characteristic
            and distinct_collaborations.metric_id = bootstrap_groups.metric_id
),

-- A collaboration's pairs, by group and collaboration number.
numbered_pairs as (
    select
        collaborations.group_number,
        collaborations.collaboration_number,
        pairs.health_score,
        pairs.directed_change
    from pairs
    inner join bootstrap_groups
        on
            pairs.characteristic = bootstrap_groups.characteristic
            and pairs.metric_id = bootstrap_groups.metric_id
    inner join collaborations
        on
            bootstrap_groups.group_number = collaborations.group_number
            and pairs.collaboration_id = collaborations.collaboration_id
),

resample_numbers as (
    select resample_number from {{ integers(resamples, 'resample_number') }} as numbers
),

-- K draws per resample: draw d is the d-th row of the group's collaborations.
draws as (
    select
        collaborations.group_number,
        (collaborations.group_number - 1) * {{ resamples }} + resample_numbers.resample_number as resample_key,
        {{ random_index(
            ['collaborations.group_seed', 'resample_numbers.resample_number', 'collaborations.collaboration_number'],
            'collaborations.n_collaborations') }} as drawn_number
    from collaborations
    cross join resample_numbers
),

resampled_pairs as (
    select
        draws.group_number,
        draws.resample_key,
        numbered_pairs.health_score,
        numbered_pairs.directed_change
    from draws
    inner join numbered_pairs
        on
            draws.group_number = numbered_pairs.group_number
            and draws.drawn_number = numbered_pairs.collaboration_number
),

resampled_health_ranks as (
    select
        group_number,
        resample_key,
        directed_change,
        {{ average_rank('health_score', 'resample_key') }} as health_rank
    from resampled_pairs
),

resampled_ranks as (
    select
        group_number,
        resample_key,
        health_rank,
        {{ average_rank('directed_change', 'resample_key') }} as change_rank
    from resampled_health_ranks
),

resample_correlations as (
    select
        group_number,
        resample_key,
        {{ rank_correlation('health_rank', 'change_rank') }} as rank_correlation
    from resampled_ranks
    group by group_number, resample_key
),

intervals as (
    select
        bootstrap_groups.characteristic,
        bootstrap_groups.metric_id,
        count(*) as bootstrap_resamples,
        percentile_cont(0.025) within group (order by resample_correlations.rank_correlation) as ci_low,
        percentile_cont(0.975) within group (order by resample_correlations.rank_correlation) as ci_high
    from resample_correlations
    inner join bootstrap_groups
        on resample_correlations.group_number = bootstrap_groups.group_number
    where resample_correlations.rank_correlation is not null
    group by bootstrap_groups.characteristic, bootstrap_groups.metric_id
),

published as (
    select
        association_keys.characteristic,
        association_keys.characteristic_name,
        association_keys.measure_kind,
        association_keys.metric_id,
        association_keys.period_grain,
        coalesce(estimates.n_pairs, 0) as n_pairs,
        coalesce(estimates.n_collaborations, 0) as n_collaborations,
        estimates.rank_correlation,
        intervals.ci_low,
        intervals.ci_high,
        coalesce(intervals.bootstrap_resamples, 0) as bootstrap_resamples,
        coalesce(estimates.n_collaborations, 0) >= {{ min_collaborations }} as is_reportable
    from association_keys
    left join estimates
        on
            association_keys.characteristic = estimates.characteristic
            and association_keys.metric_id = estimates.metric_id
    left join intervals
        on
            association_keys.characteristic = intervals.characteristic
            and association_keys.metric_id = intervals.metric_id
)

select
    cast(characteristic as string) as characteristic,
    cast(characteristic_name as string) as characteristic_name,
    cast(metric_id as string) as metric_id,
    cast(period_grain as string) as period_grain,
    cast(n_pairs as integer) as n_pairs,
    cast(n_collaborations as integer) as n_collaborations,
    case when is_reportable then {{ round_half_up('rank_correlation', decimals) }} end as rank_correlation,
    case when is_reportable then {{ round_half_up('ci_low', decimals) }} end as ci_low,
    case when is_reportable then {{ round_half_up('ci_high', decimals) }} end as ci_high,
    cast(bootstrap_resamples as integer) as bootstrap_resamples,
    is_reportable,
    cast(
        case
            when is_reportable then null
            when n_collaborations = 0
                then
                    'No collaboration has both a health score and a firm (not provisional) before/after '
                    || 'comparison of this metric yet.'
            else
                'Only ' || cast(n_collaborations as {{ dbt.type_string() }}) || ' collaboration'
                || case when n_collaborations = 1 then ' has' else 's have' end
                || ' a firm before/after comparison beside a health score; '
                || cast({{ min_collaborations }} as {{ dbt.type_string() }}) || ' are needed.'
        end as string
    ) as not_reportable_reason,
    cast(
        'Spearman rank correlation: an association across collaborations, not an effect of health on the outcome'
        as string
    ) as measure,
    cast(measure_kind as string) as measure_kind
from published
-- In grain order, so the table's rows are stored in the same order on every build.
order by characteristic, metric_id
