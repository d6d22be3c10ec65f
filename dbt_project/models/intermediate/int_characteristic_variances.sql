-- The variances behind Cronbach's alpha (macros/cronbach_alpha.sql), for both grains the
-- alpha models publish (collaboration × wave, and collaboration × wave × organisation) in
-- one pass over the answers: per characteristic, the sample variance of each item and of
-- respondents' item totals, over respondents who answered every item of a characteristic
-- with more than one item (listwise). Grain: one row per grain (`is_by_organisation`) ×
-- group × characteristic × item (`item_id`; null for the row of the totals). Answers and
-- totals are whole numbers: the variances are exact integer arithmetic until the final
-- division (macros/exact_arithmetic.sql), so the same on every build.
{{ config(materialized='table') }}
with
-- Respondents who answered every item of a characteristic with more than one item, with
-- their item total (from int_respondent_characteristic_totals, aggregated once per build).
complete as (
    select
        respondents.collaboration_id,
        respondents.wave,
        respondents.organisation_code,
        characteristics.characteristic_id,
        totals.n_items,
        totals.score_total
    from {{ ref('int_respondent_characteristic_totals') }} as totals
    inner join {{ ref('int_respondents__numbered') }} as respondents
        on totals.respondent_number = respondents.respondent_number
    inner join ({{ characteristic_numbers() }}) as characteristics
        on totals.characteristic_number = characteristics.characteristic_number
    where
        totals.n_items > 1
        and totals.n_items_answered = totals.n_items
),

-- Each respondent's complete characteristics as one list, so the answers need only a join
-- per respondent (a few hundred thousand rows), never one against millions of respondent ×
-- characteristic pairs.
complete_by_respondent as (
    select respondent_number, {{ value_list('characteristic_number') }} as complete_characteristics
    from {{ ref('int_respondent_characteristic_totals') }}
    where
        n_items > 1
        and n_items_answered = n_items
    group by respondent_number  -- noqa: AM06
),

complete_answers as (
    select
        respondents.collaboration_id,
        respondents.wave,
        respondents.organisation_code,
        answers.characteristic_id,
        answers.item_id,
        answers.score_value
    from {{ ref('stg_diagnostic__answers') }} as answers
    inner join {{ ref('int_respondents__numbered') }} as respondents
        on
            answers.collaboration_id = respondents.collaboration_id
            and answers.wave = respondents.wave
            and answers.respondent_key = respondents.respondent_key
    inner join complete_by_respondent
        on respondents.respondent_number = complete_by_respondent.respondent_number
    inner join ({{ characteristic_numbers() }}) as characteristics
        on
            answers.instrument_id = characteristics.instrument_id
            and answers.characteristic_id = characteristics.characteristic_id
    where {{ list_contains_value(
        'complete_by_respondent.complete_characteristics', 'characteristics.characteristic_number') }}
),

-- sqlfluff's DuckDB dialect cannot parse GROUPING SETS (ANSI SQL): not linted from here.
-- noqa: disable=all
item_variances as (
    select
        grouping(organisation_code) = 0 as is_by_organisation,
        collaboration_id,
        wave,
        organisation_code,
        characteristic_id,
        item_id,
        {{ exact_var_samp('score_value', places=0) }} as variance,
        cast(null as bigint) as n_items,
        count(*) as n_respondents
    from complete_answers
    group by grouping sets (
        (collaboration_id, wave, characteristic_id, item_id),
        (collaboration_id, wave, organisation_code, characteristic_id, item_id)
    )
),

total_variances as (
    select
        grouping(organisation_code) = 0 as is_by_organisation,
        collaboration_id,
        wave,
        organisation_code,
        characteristic_id,
        cast(null as string) as item_id,
        {{ exact_var_samp('score_total', places=0) }} as variance,
        max(n_items) as n_items,
        count(*) as n_respondents
    from complete
    group by grouping sets (
        (collaboration_id, wave, characteristic_id),
        (collaboration_id, wave, organisation_code, characteristic_id)
    )
)

select * from item_variances
union all
select * from total_variances
-- noqa: enable=all
