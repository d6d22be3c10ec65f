-- =====================================================================================
-- Hand-written DuckDB baseline (issue 8): `collaboration_health` and `system_metrics`
-- straight from the input files, in one DuckDB process, with no dbt and no polars.
--
-- It is the yardstick "how fast could one process with plain SQL do it". It reads the
-- diagnostic exports, the Monthly A&E files (original NHS layout) and the organisation
-- reference exactly as found, and reproduces the numbers of the pipeline's marts
-- `marts.collaboration_health` and `marts.system_metrics` (see benchmarks/baseline.py,
-- `compare_with_warehouse`).
--
-- benchmarks/baseline.py renders this script: it prepends small parameter tables made
-- from the configuration (p_files, p_codebook_columns, p_items, p_characteristics,
-- p_scale_labels, p_scale_missing, p_collaborations, p_members, p_waves, p_metrics,
-- p_metric_definitions, p_spc_settings, p_spc_change_points, p_ae_columns, p_cp1252) and
-- substitutes double-brace placeholders: file lists, the scratch folder, and the metric
-- catalogue's numerator / denominator / filter SQL expressions (MONTHLY_AE_METRIC_VALUES).
-- Every step on the data (decoding, CSV parsing, header matching, answer mapping, dedup,
-- scoring, suppression, metric values, successor roll-up, pooling, SPC) is below.
--
-- Not reproduced (deliberately or as simplifications; see the final report too):
--   * respondent ids are not pseudonymised: the lower-cased id is the respondent key (the
--     pipeline's HMAC gives the same equivalence classes; keys appear in no mart compared);
--   * quarantine and raw.* profiling tables are not produced; rows the pipeline would
--     quarantine are simply dropped (same effect on the marts);
--   * header matching takes, per codebook column, the first header position that matches,
--     without the pipeline's "a position taken by an earlier column is skipped" rule;
--   * structural CSV problems (ragged rows, stray quotes swallowing rows, XLSX files) are
--     not detected: DuckDB's reader pads short rows; such files do not occur here;
--   * only the monthly_ae source feeds metrics (ae_tidy, staff_survey and shmi are off in
--     the benchmark), so the "first-listed source wins" precedence is not needed;
--   * NFKC folding of labels is approximated (curly quotes, no-break space, whitespace, case).
-- =====================================================================================

-- -------------------------------------------------------------------------------------
-- 0. Helpers
-- -------------------------------------------------------------------------------------
-- The marts' one rounding rule (dbt macro round_half_up): half-up on the decimal value,
-- not on the binary double (2.675 -> 2.68).
create or replace temp macro round_half_up(x, d) as
    cast(round(cast(case when x between -1e25 and 1e25 then x end as decimal(38, 12)), d) as double);
-- A cell as the readers see it: outer whitespace stripped, empty -> null.
create or replace temp macro strip_cell(t) as
    nullif(trim(t, ' ' || chr(9) || chr(10) || chr(13)), '');
-- A header or answer label folded for matching: curly quotes, whitespace runs, case.
create or replace temp macro norm_label(t) as
    lower(trim(regexp_replace(
        translate(coalesce(t, ''), chr(8216) || chr(8217) || chr(8220) || chr(8221) || chr(160) || chr(65279), '''''""  '),
        '\s+', ' ', 'g')));

-- -------------------------------------------------------------------------------------
-- 1. Text files: decode (UTF-8, with or without BOM, else Windows-1252) and parse CSV
-- -------------------------------------------------------------------------------------
-- Every input CSV's bytes. A file that is not valid UTF-8 is Windows-1252: its bytes are
-- mapped to UTF-8 (p_cp1252: byte hex -> UTF-8 hex) and written to the scratch folder, so
-- DuckDB's CSV reader (UTF-8 only without extensions) can parse it like the others.
create or replace temp table input_blobs as
select f.source, f.file_no, f.file_name, f.path, b.content, try(decode(b.content)) is not null as is_utf8
from read_blob({{ALL_TEXT_FILES}}) as b
inner join p_files as f on f.path = b.filename;

copy (
    select
        blobs.file_no,
        rtrim(decode(unhex(array_to_string(
            list_transform(regexp_extract_all(hex(blobs.content), '..'), lambda b: coalesce(map_extract_value(cp.m, b), b)),
            ''))), chr(13) || chr(10)) as text
    from input_blobs as blobs
    cross join (select map(list(byte_hex), list(utf8_hex)) as m from p_cp1252) as cp
    where not blobs.is_utf8
) to '{{SCRATCH_DIR}}/transcoded' (format csv, header false, quote '', escape '', partition_by (file_no), overwrite_or_ignore);

-- The path each file is parsed from: the original, or its transcoded copy.
create or replace temp table parse_paths as
select
    source, file_no, file_name,
    case when is_utf8 then path else '{{SCRATCH_DIR}}/transcoded/file_no=' || file_no || '/*.csv' end as parse_path
from input_blobs;

set variable diagnostic_paths = (select list(parse_path order by file_no) from parse_paths where source = 'diagnostic_exports');
set variable monthly_ae_paths = (select list(parse_path order by file_no) from parse_paths where source = 'monthly_ae');

-- One row per CSV record (header included), every cell as text in a list; `row_no` is
-- the spreadsheet row (header = 1). Insertion order of the table is file and line order.
create or replace temp macro parsed_records(paths) as table
    select list_value(*columns('^column\d+$')) as cells, filename
    from read_csv(paths, header = false, all_varchar = true, union_by_name = true, filename = true,
                  delim = ',', quote = '"', escape = '"', null_padding = true, auto_detect = false,
                  strict_mode = false);  -- a transcoded file mixes CRLF and LF line ends

create or replace temp table diagnostic_parsed as select * from parsed_records(getvariable('diagnostic_paths'));
create or replace temp table diagnostic_records as
select
    coalesce(p.file_no, cast(regexp_extract(r.filename, 'file_no=(\d+)', 1) as integer)) as file_no,
    row_number() over (partition by r.filename order by r.rowid) as row_no,
    r.cells
from (select rowid, * from diagnostic_parsed) as r
left join parse_paths as p on p.parse_path = r.filename;

-- -------------------------------------------------------------------------------------
-- 2. Organisation reference (ODS etr extracts, successors, provider -> ICB, ICB names)
-- -------------------------------------------------------------------------------------
create or replace temp table etr_parsed as
select list_value(*columns('^column\d+$')) as cells, filename
from read_csv({{ETR_FILES}}, header = false, all_varchar = true, union_by_name = true, filename = true,
              delim = ',', quote = '"', escape = '"', null_padding = true, auto_detect = false);

create or replace temp table etr_rows as
select
    r.rowid as seq,
    regexp_extract(r.filename, '[^/\\]+$') as file_name,
    strip_cell(r.cells[1]) as org_code,
    strip_cell(r.cells[2]) as org_name,
    strip_cell(r.cells[4]) as icb_code,
    make_date(
        cast(regexp_extract(regexp_extract(r.filename, '[^/\\]+$'), '(\d{4})-(\d{2})', 1) as integer),
        cast(regexp_extract(regexp_extract(r.filename, '[^/\\]+$'), '(\d{4})-(\d{2})', 2) as integer),
        coalesce(try_cast(regexp_extract(regexp_extract(r.filename, '[^/\\]+$'), '(\d{4})-(\d{2})-(\d{2})', 3) as integer), 1)
    ) as as_at
from (select rowid, * from etr_parsed) as r;

-- Each trust's latest record (file names sort by extract date).
create or replace temp table organisations as
select org_code, arg_max(org_name, [file_name, lpad(cast(seq as varchar), 20, '0')]) as org_name
from etr_rows
group by org_code;

-- Name -> code for names held by exactly one organisation ("&" read as "and").
create or replace temp table organisation_names as
select norm_label(replace(org_name, '&', ' and ')) as name_key, min(org_code) as org_code
from organisations
where org_name is not null
group by 1
having count(distinct org_code) = 1;

-- Successor records; a chain of mergers resolves to its end; a split keeps its own code.
create or replace temp table successor_edges as
select distinct
    upper(strip_cell(old_code)) as old_code,
    upper(strip_cell(new_code)) as new_code,
    cast(strptime(strip_cell("date"), '%Y-%m-%d') as date) as succeeded_on
from read_csv({{SUCCESSOR_FILES}}, header = true, all_varchar = true, union_by_name = true);

create or replace temp table organisation_successors as
with recursive direct as (
    select old_code, new_code, succeeded_on from successor_edges where old_code <> new_code
),
steps as (
    -- a code continues its chain only when it has exactly one successor record
    select old_code, min(new_code) as new_code, count(*) as n_records, count(distinct new_code) as n_successors,
        min(succeeded_on) as succeeded_on
    from direct group by old_code
),
chain(org_code, current_code, path) as (
    select old_code, old_code, [old_code] from steps
    union all
    select chain.org_code, steps.new_code, list_append(chain.path, steps.new_code)
    from chain
    inner join steps on steps.old_code = chain.current_code
    where steps.n_records = 1 and not list_contains(chain.path, steps.new_code)
),
chain_end as (
    select org_code, arg_max(current_code, len(path)) as end_code from chain group by org_code
)
select
    steps.old_code as org_code,
    case when steps.n_successors > 1 then steps.old_code else chain_end.end_code end as reporting_code,
    steps.succeeded_on
from steps
inner join chain_end on chain_end.org_code = steps.old_code;

-- Trust -> ICB snapshots: every etr extract (as at its file date) and every provider ->
-- parent ICB extract (its as_at); the later-listed record of an (org, date) wins.
create or replace temp table provider_icb_parsed as
select * from read_csv({{PROVIDER_ICB_FILES}}, header = true, all_varchar = true, union_by_name = true);

create or replace temp table provider_icb_rows as
select
    rowid as seq,
    strip_cell(provider_org_code) as org_code,
    strip_cell(provider_parent_org_code) as icb_code,
    strip_cell(provider_parent_name) as icb_name,
    cast(strptime(strip_cell(as_at), '%Y-%m-%d') as date) as as_at,
    strip_cell(as_at) as vintage
from provider_icb_parsed;

create or replace temp table icb_snapshots as
select org_code, as_at, arg_max(icb_code, ordering) as icb_code
from (
    select org_code, icb_code, as_at, [0, seq] as ordering from etr_rows
    union all
    select org_code, icb_code, as_at, [1, seq] from provider_icb_rows
)
where icb_code is not null and icb_code <> 'Q99'  -- Q99: outside England's ICBs (Wales)
group by org_code, as_at;

-- When each organisation belonged to each ICB (int_organisation_icb_periods): a snapshot
-- holds from its month until the next; the earliest extract also covers all earlier months.
create or replace temp table organisation_icb_periods as
with monthly as (
    -- one snapshot per organisation and month: the later extract wins; on a tie, the smaller ICB code
    select org_code, date_trunc('month', as_at) as as_at_month, first(icb_code order by as_at desc, icb_code) as icb_code
    from icb_snapshots group by 1, 2
),
earliest as (select min(date_trunc('month', as_at)) as first_month from icb_snapshots)
select
    monthly.org_code,
    monthly.icb_code,
    case when monthly.as_at_month = earliest.first_month then null else monthly.as_at_month end as valid_from,
    lead(monthly.as_at_month) over (partition by monthly.org_code order by monthly.as_at_month) as valid_to
from monthly cross join earliest;

-- ICB names: the latest vintage's name (crosswalk vintages "ICB22 (July 2022)", provider
-- extract dates "2026-04-30").
create or replace temp table icb_crosswalk_parsed as
select * from read_csv({{ICB_CROSSWALK_FILES}}, header = true, all_varchar = true, union_by_name = true);

create or replace temp table icbs as
select icb_code, arg_max(icb_name, [coalesce(year_order, -1), source_order, seq]) as icb_name
from (
    select strip_cell(icb_ods_code) as icb_code, strip_cell(icb_name) as icb_name,
        try_cast(regexp_extract(strip_cell(vintage), '(20\d\d)', 1) as integer) as year_order, 0 as source_order, rowid as seq
    from icb_crosswalk_parsed
    union all
    select icb_code, icb_name, try_cast(regexp_extract(vintage, '(20\d\d)', 1) as integer), 1, seq
    from provider_icb_rows
)
group by icb_code;

-- -------------------------------------------------------------------------------------
-- 3. Diagnostic exports -> respondents and answers
-- -------------------------------------------------------------------------------------
-- Which codebook column sits at which header position. Distinct header texts are
-- matched once (exact header ignoring case/spacing, or a case-insensitive regex).
create or replace temp table diagnostic_headers as
select file_no, pos - 1 as col_no, header
from (select file_no, unnest(cells) as header, generate_subscripts(cells, 1) as pos from diagnostic_records where row_no = 1)
where norm_label(header) <> '';

create or replace temp table header_spec_matches as
with distinct_headers as (select distinct header from diagnostic_headers)
select h.header, s.*
from distinct_headers as h
inner join p_codebook_columns as s
    on (s.header is not null and norm_label(h.header) = norm_label(s.header))
    or (s.pattern is not null and regexp_matches(trim(h.header), s.pattern, 'i'));

create or replace temp table file_spec_positions as
select h.file_no, m.instrument_id, m.instrument_order, m.kind, m.name, m.required, min(h.col_no) as col_no
from diagnostic_headers as h
inner join header_spec_matches as m on m.header = h.header
group by all;

-- A file's instrument: the first codebook (file-name order) whose required columns are all there.
create or replace temp table file_instruments as
select file_no, arg_min(instrument_id, instrument_order) as instrument_id
from (
    select p.file_no, p.instrument_id, p.instrument_order
    from file_spec_positions as p
    where p.required
    group by all
    having count(*) = (select count(*) from p_codebook_columns as c where c.instrument_id = p.instrument_id and c.required)
)
group by file_no;

create or replace temp table file_layouts as
select p.file_no, p.instrument_id, p.kind, p.name, p.col_no
from file_spec_positions as p
inner join file_instruments as i on i.file_no = p.file_no and i.instrument_id = p.instrument_id;

-- One row per data record with the respondent fields by name (stripped).
create or replace temp table diagnostic_rows as
with field_positions as (
    select
        file_no, any_value(instrument_id) as instrument_id,
        max(col_no) filter (where name = 'respondent_id') + 1 as p_respondent,
        max(col_no) filter (where name = 'submitted_at') + 1 as p_submitted,
        max(col_no) filter (where name = 'organisation') + 1 as p_organisation,
        max(col_no) filter (where name = 'collaboration') + 1 as p_collaboration,
        max(col_no) filter (where name = 'wave') + 1 as p_wave,
        list(col_no + 1) as used_positions
    from file_layouts
    group by file_no
)
select
    r.file_no,
    f.file_name,
    r.row_no as source_row,
    l.instrument_id,
    strip_cell(r.cells[l.p_respondent]) as respondent_id,
    strip_cell(r.cells[l.p_submitted]) as submitted_text,
    strip_cell(r.cells[l.p_organisation]) as organisation,
    strip_cell(r.cells[l.p_collaboration]) as collaboration,
    strip_cell(r.cells[l.p_wave]) as wave_text,
    -- blank row: every field and item cell empty or whitespace
    len(list_filter(l.used_positions, lambda p: strip_cell(r.cells[p]) is not null)) = 0 as is_blank,
    r.cells
from diagnostic_records as r
inner join field_positions as l on l.file_no = r.file_no
inner join parse_paths as f on f.file_no = r.file_no
where r.row_no > 1;

-- Parse and check; only rows passing every rule go on (the pipeline quarantines the rest).
create or replace temp table valid_respondents as
with parsed as (
    select
        rows.*,
        lower(respondent_id) as respondent_key,
        case
            when regexp_matches(submitted_text, '^\d{1,2}/\d{1,2}/\d{2}(\s|$)') then coalesce(
                try_strptime(submitted_text, '%d/%m/%y %H:%M:%S'),
                try_strptime(submitted_text, '%d/%m/%y %H:%M'),
                try_strptime(submitted_text, '%d/%m/%y'))
            else coalesce(
                try_strptime(submitted_text, '%d/%m/%Y %H:%M:%S'),
                try_strptime(submitted_text, '%d/%m/%Y %H:%M'),
                try_strptime(submitted_text, '%d/%m/%Y'),
                try_strptime(submitted_text, '%Y-%m-%d %H:%M:%S'),
                try_strptime(submitted_text, '%Y-%m-%dT%H:%M:%S'),
                try_strptime(submitted_text, '%Y-%m-%d %H:%M'),
                try_strptime(submitted_text, '%Y-%m-%d'))
        end as submitted_at,
        try_cast(regexp_extract(wave_text, '^(?i:wave\s*)?(\d+)$', 1) as integer) as wave,
        lower(collaboration) as collaboration_id,
        -- organisation: a known code, something that looks like a code and has a digit, or
        -- the name of exactly one organisation
        case
            when upper(organisation) in (select org_code from organisations) then upper(organisation)
            when regexp_full_match(upper(organisation), '[A-Z0-9]{3,6}') and regexp_matches(upper(organisation), '[0-9]')
                then upper(organisation)
            else (select n.org_code from organisation_names as n where n.name_key = norm_label(replace(organisation, '&', ' and ')))
        end as organisation_code
    from diagnostic_rows as rows
    where not is_blank
)
select *
from parsed
where respondent_key is not null
    and submitted_at is not null
    and year(submitted_at) between 2000 and 2099
    and organisation_code is not null
    and collaboration_id is not null
    and wave is not null;

-- Only declared waves and organisations that were members during the fieldwork, then each
-- respondent's latest valid submission (ties: the later file name, then the later row).
create or replace temp table respondents as
with declared as (
    select v.*
    from valid_respondents as v
    inner join p_waves as w on w.collaboration_id = v.collaboration_id and w.wave = v.wave
    where exists (
        select 1 from p_members as m
        where m.collaboration_id = v.collaboration_id
            and m.org_code = v.organisation_code
            and m.joined_on <= w.fieldwork_end
            and (m.left_on is null or m.left_on >= w.fieldwork_start)
    )
)
select * from declared
qualify row_number() over (
    partition by collaboration_id, wave, respondent_key
    order by submitted_at desc, file_name desc, source_row desc
) = 1;

-- Answers: labels (ignoring case, spacing, curly quotes) or in-range numbers to scale
-- values; "Don't know", N/A, blanks and unrecognised text are missing. Reverse-keyed
-- items are reversed (min + max - answer).
create or replace temp table answers as
with cells as (
    select
        r.instrument_id, r.collaboration_id, r.wave, r.respondent_key, r.organisation_code,
        l.name as item_id,
        norm_label(r.cells[l.col_no + 1]) as label
    from respondents as r
    inner join file_layouts as l on l.file_no = r.file_no and l.kind = 'item'
),
labels as (
    select instrument_id, norm_label(label) as label, any_value(value) as value from p_scale_labels group by all
),
missing as (
    select instrument_id, norm_label(label) as label from p_scale_missing
    union select instrument_id, '' from p_characteristics
),
valued as (
    select
        cells.*,
        case
            when missing.label is not null then null
            when labels.value is not null then labels.value
            when regexp_full_match(cells.label, '[0-9]+')
                and try_cast(cells.label as bigint) between scale.scale_min and scale.scale_max
                then cast(cells.label as integer)
        end as answer_value,
        scale.scale_min + scale.scale_max as scale_sum
    from cells
    inner join (select distinct instrument_id, scale_min, scale_max from p_characteristics) as scale
        on scale.instrument_id = cells.instrument_id
    left join labels on labels.instrument_id = cells.instrument_id and labels.label = cells.label
    left join missing on missing.instrument_id = cells.instrument_id and missing.label = cells.label
)
select
    valued.instrument_id, valued.collaboration_id, valued.wave, valued.respondent_key, valued.organisation_code,
    valued.item_id, items.characteristic_id,
    cast(case when items.is_reverse then scale_sum - answer_value else answer_value end as double) as score_value
from valued
inner join p_items as items on items.instrument_id = valued.instrument_id and items.item_id = valued.item_id
where answer_value is not null;

-- -------------------------------------------------------------------------------------
-- 4. collaboration_health
-- -------------------------------------------------------------------------------------
create or replace temp table items_per_characteristic as
select instrument_id, characteristic_id, count(*) as n_items from p_items group by all;

-- A respondent's characteristic score: mean of the items answered, if at least half answered.
create or replace temp table respondent_scores as
select a.collaboration_id, a.wave, a.respondent_key, a.organisation_code, a.instrument_id, a.characteristic_id,
    avg(a.score_value) as respondent_score
from answers as a
inner join items_per_characteristic as i on i.instrument_id = a.instrument_id and i.characteristic_id = a.characteristic_id
group by a.collaboration_id, a.wave, a.respondent_key, a.organisation_code, a.instrument_id, a.characteristic_id, i.n_items
having 2 * count(*) >= i.n_items;

create or replace temp table organisation_scores as
select collaboration_id, wave, instrument_id, characteristic_id, organisation_code,
    avg(respondent_score) as organisation_score, var_samp(respondent_score) as respondent_variance, count(*) as n_respondents
from respondent_scores
group by all;

-- Cronbach's alpha per collaboration, wave and characteristic, over respondents who
-- answered every item of the characteristic (characteristics with at least two items).
create or replace temp table characteristic_alpha as
with complete as (
    select a.*, i.n_items
    from answers as a
    inner join items_per_characteristic as i on i.instrument_id = a.instrument_id and i.characteristic_id = a.characteristic_id
    where i.n_items > 1
    qualify count(*) over (partition by a.collaboration_id, a.wave, a.respondent_key, a.characteristic_id) = i.n_items
),
summed as (
    select collaboration_id, wave, characteristic_id, max(n_items) as n_items, sum(item_variance) as item_variance_sum
    from (
        select collaboration_id, wave, characteristic_id, item_id, max(n_items) as n_items, var_samp(score_value) as item_variance
        from complete group by all
    )
    group by all
),
totals as (
    select collaboration_id, wave, characteristic_id, var_samp(total) as total_variance, count(*) as n_complete
    from (select collaboration_id, wave, characteristic_id, respondent_key, sum(score_value) as total from complete group by all)
    group by all
)
select summed.collaboration_id, summed.wave, summed.characteristic_id,
    case when totals.n_complete >= 2 and totals.total_variance > 0
        then (1.0 * summed.n_items / (summed.n_items - 1)) * (1 - summed.item_variance_sum / totals.total_variance)
    end as cronbach_alpha
from summed
inner join totals using (collaboration_id, wave, characteristic_id);

-- Each member organisation counts equally; 95% interval from the pooled within-organisation
-- variances; groups under {{MIN_GROUP_SIZE}} respondents suppressed; Wilder bands.
create or replace table collaboration_health as
with group_variance as (
    select collaboration_id, wave, characteristic_id, var_samp(respondent_score) as all_variance
    from respondent_scores group by all
),
collaboration_scores as (
    select o.collaboration_id, o.wave, o.instrument_id, o.characteristic_id,
        avg(o.organisation_score) as raw_score,
        sqrt(sum(coalesce(o.respondent_variance, g.all_variance) / o.n_respondents)) / count(*) as standard_error,
        sum(o.n_respondents) as n_respondents,
        count(*) as n_organisations,
        max(o.organisation_score) filter (where o.n_respondents >= {{MIN_GROUP_SIZE}})
            - min(o.organisation_score) filter (where o.n_respondents >= {{MIN_GROUP_SIZE}}) as raw_gap,
        count(*) filter (where o.n_respondents >= {{MIN_GROUP_SIZE}}) as n_reportable_organisations
    from organisation_scores as o
    left join group_variance as g using (collaboration_id, wave, characteristic_id)
    group by all
),
scored as (
    select s.*, c.characteristic_name, c.scale_min, c.scale_max,
        s.n_respondents < {{MIN_GROUP_SIZE}} as is_suppressed,
        a.cronbach_alpha as raw_alpha,
        round_half_up(1 + 4.0 * (s.raw_score - c.scale_min) / (c.scale_max - c.scale_min), 2) as score_1_to_5
    from collaboration_scores as s
    inner join p_characteristics as c using (instrument_id, characteristic_id)
    left join characteristic_alpha as a using (collaboration_id, wave, characteristic_id)
)
select
    collaboration_id,
    wave,
    characteristic_id as characteristic,
    characteristic_name,
    instrument_id,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max,
    case when not is_suppressed then round_half_up(raw_score, 2) end as score,
    case when not is_suppressed and standard_error is not null
        then round_half_up(greatest(scale_min, raw_score - 1.96 * standard_error), 2) end as ci_low,
    case when not is_suppressed and standard_error is not null
        then round_half_up(least(scale_max, raw_score + 1.96 * standard_error), 2) end as ci_high,
    cast(n_respondents as integer) as n_respondents,
    cast(n_organisations as integer) as n_organisations,
    case
        when is_suppressed or raw_score is null then null
        when score_1_to_5 >= 4.0 then 'strength'
        when score_1_to_5 >= 3.0 then 'borderline'
        else 'concern'
    end as band,
    round_half_up(
        case when not is_suppressed then raw_score end
        - lag(case when not is_suppressed then raw_score end) over (partition by collaboration_id, characteristic_id order by wave),
        2) as score_change,
    case when not is_suppressed and n_reportable_organisations >= 2 then round_half_up(raw_gap, 2) end as perception_gap,
    case when not is_suppressed then round_half_up(raw_alpha, 3) end as cronbach_alpha,
    is_suppressed
from scored;

-- -------------------------------------------------------------------------------------
-- 5. Monthly A&E (original layout) -> clean rows
-- -------------------------------------------------------------------------------------
create or replace temp table ae_parsed as select * from parsed_records(getvariable('monthly_ae_paths'));
create or replace temp table ae_records as
select
    coalesce(p.file_no, cast(regexp_extract(r.filename, 'file_no=(\d+)', 1) as integer)) as file_no,
    row_number() over (partition by r.filename order by r.rowid) as row_no,
    r.cells
from (select rowid, * from ae_parsed) as r
left join parse_paths as p on p.parse_path = r.filename;

-- Columns by header name (case and spacing ignored, first occurrence wins); a file
-- without every required column is not a Monthly A&E file and is left out.
create or replace temp table ae_layouts as
with positions as (
    select r.file_no, c.name, min(h.pos) as pos
    from (select file_no, unnest(cells) as header, generate_subscripts(cells, 1) as pos from ae_records where row_no = 1) as h
    inner join p_ae_columns as c on norm_label(c.header) = norm_label(h.header)
    inner join (select distinct file_no from ae_records) as r on r.file_no = h.file_no
    group by all
)
select
    file_no,
    max(pos) filter (where name = 'period') as period,
    max(pos) filter (where name = 'org_code') as org_code,
    max(pos) filter (where name = 'org_name') as org_name,
    max(pos) filter (where name = 'attendances_type1') as attendances_type1,
    max(pos) filter (where name = 'attendances_type2') as attendances_type2,
    max(pos) filter (where name = 'attendances_other') as attendances_other,
    max(pos) filter (where name = 'attendances_booked_type1') as attendances_booked_type1,
    max(pos) filter (where name = 'attendances_booked_type2') as attendances_booked_type2,
    max(pos) filter (where name = 'attendances_booked_other') as attendances_booked_other,
    max(pos) filter (where name = 'over_4h_type1') as over_4h_type1,
    max(pos) filter (where name = 'over_4h_type2') as over_4h_type2,
    max(pos) filter (where name = 'over_4h_other') as over_4h_other,
    max(pos) filter (where name = 'over_4h_booked_type1') as over_4h_booked_type1,
    max(pos) filter (where name = 'over_4h_booked_type2') as over_4h_booked_type2,
    max(pos) filter (where name = 'over_4h_booked_other') as over_4h_booked_other,
    max(pos) filter (where name = 'dta_wait_4_to_12h') as dta_wait_4_to_12h,
    max(pos) filter (where name = 'dta_wait_over_12h') as dta_wait_over_12h,
    max(pos) filter (where name = 'emergency_admissions_type1') as emergency_admissions_type1,
    max(pos) filter (where name = 'emergency_admissions_type2') as emergency_admissions_type2,
    max(pos) filter (where name = 'emergency_admissions_other_ae') as emergency_admissions_other_ae,
    max(pos) filter (where name = 'emergency_admissions_other') as emergency_admissions_other,
    list(pos) as mapped_positions
from positions
group by file_no
having count(*) filter (where name in (select name from p_ae_columns where required))
    = (select count(*) from p_ae_columns where required);

create or replace temp table ae_rows as
with named as (
    select
        r.file_no, f.file_name, r.row_no as source_row,
        strip_cell(r.cells[l.period]) as period,
        strip_cell(r.cells[l.org_code]) as org_code,
        strip_cell(r.cells[l.org_name]) as org_name,
        strip_cell(r.cells[l.attendances_type1]) as attendances_type1,
        strip_cell(r.cells[l.attendances_type2]) as attendances_type2,
        strip_cell(r.cells[l.attendances_other]) as attendances_other,
        strip_cell(r.cells[l.attendances_booked_type1]) as attendances_booked_type1,
        strip_cell(r.cells[l.attendances_booked_type2]) as attendances_booked_type2,
        strip_cell(r.cells[l.attendances_booked_other]) as attendances_booked_other,
        strip_cell(r.cells[l.over_4h_type1]) as over_4h_type1,
        strip_cell(r.cells[l.over_4h_type2]) as over_4h_type2,
        strip_cell(r.cells[l.over_4h_other]) as over_4h_other,
        strip_cell(r.cells[l.over_4h_booked_type1]) as over_4h_booked_type1,
        strip_cell(r.cells[l.over_4h_booked_type2]) as over_4h_booked_type2,
        strip_cell(r.cells[l.over_4h_booked_other]) as over_4h_booked_other,
        strip_cell(r.cells[l.dta_wait_4_to_12h]) as dta_wait_4_to_12h,
        strip_cell(r.cells[l.dta_wait_over_12h]) as dta_wait_over_12h,
        strip_cell(r.cells[l.emergency_admissions_type1]) as emergency_admissions_type1,
        strip_cell(r.cells[l.emergency_admissions_type2]) as emergency_admissions_type2,
        strip_cell(r.cells[l.emergency_admissions_other_ae]) as emergency_admissions_other_ae,
        strip_cell(r.cells[l.emergency_admissions_other]) as emergency_admissions_other,
        len(list_filter(l.mapped_positions, lambda p: strip_cell(r.cells[p]) is not null)) = 0 as is_blank
    from ae_records as r
    inner join ae_layouts as l on l.file_no = r.file_no
    inner join parse_paths as f on f.file_no = r.file_no
    where r.row_no > 1
),
-- The six required counts as numbers, for the national-total test.
counted as (
    select
        named.*,
        try_cast(replace(attendances_type1, ',', '') as bigint) as n1,
        try_cast(replace(attendances_type2, ',', '') as bigint) as n2,
        try_cast(replace(attendances_other, ',', '') as bigint) as n3,
        try_cast(replace(over_4h_type1, ',', '') as bigint) as n4,
        try_cast(replace(over_4h_type2, ',', '') as bigint) as n5,
        try_cast(replace(over_4h_other, ',', '') as bigint) as n6
    from named
),
totalled as (
    select
        counted.*,
        -- the national total row, whatever its label: labelled "total", or equal in every
        -- required count to the sum of all the file's rows (2 x value = column sum)
        coalesce(lower(period) = 'total' or lower(org_code) = 'total' or lower(org_name) = 'total', false)
        or coalesce(
            2 * n1 = sum(n1) over w and 2 * n2 = sum(n2) over w and 2 * n3 = sum(n3) over w
            and 2 * n4 = sum(n4) over w and 2 * n5 = sum(n5) over w and 2 * n6 = sum(n6) over w
            and (coalesce(sum(n1) over w, 0) > 0 or coalesce(sum(n2) over w, 0) > 0 or coalesce(sum(n3) over w, 0) > 0
                 or coalesce(sum(n4) over w, 0) > 0 or coalesce(sum(n5) over w, 0) > 0 or coalesce(sum(n6) over w, 0) > 0)
            and count(*) over w >= 3,
            false) as is_total
    from counted
    window w as (partition by file_no)
),
months(month_name, month_number) as (
    values ('january', 1), ('jan', 1), ('february', 2), ('feb', 2), ('march', 3), ('mar', 3), ('april', 4), ('apr', 4),
        ('may', 5), ('june', 6), ('jun', 6), ('july', 7), ('jul', 7), ('august', 8), ('aug', 8),
        ('september', 9), ('sep', 9), ('sept', 9), ('october', 10), ('oct', 10), ('november', 11), ('nov', 11),
        ('december', 12), ('dec', 12)
),
dated as (
    select totalled.*,
        make_date(try_cast(regexp_extract(lower(period), '^\s*msitae-([a-z]+)-(\d{4})\s*$', 2) as integer), months.month_number, 1)
            as period_start
    from totalled
    left join months on months.month_name = regexp_extract(lower(period), '^\s*msitae-([a-z]+)-(\d{4})\s*$', 1)
)
select *
from dated
where not is_blank
    and not is_total
    and period_start is not null
    and org_code is not null
    and regexp_matches(upper(org_code), '^[A-Z0-9]{3,6}$')
    -- every count is empty or a whole non-negative number (thousands commas allowed) ...
    and list_bool_and(list_transform(
        [attendances_type1, attendances_type2, attendances_other, attendances_booked_type1, attendances_booked_type2,
         attendances_booked_other, over_4h_type1, over_4h_type2, over_4h_other, over_4h_booked_type1,
         over_4h_booked_type2, over_4h_booked_other, dta_wait_4_to_12h, dta_wait_over_12h,
         emergency_admissions_type1, emergency_admissions_type2, emergency_admissions_other_ae, emergency_admissions_other],
        lambda v: v is null or regexp_full_match(replace(v, ',', ''), '\d+')))
    -- ... and the required counts are given
    and attendances_type1 is not null and attendances_type2 is not null and attendances_other is not null
    and over_4h_type1 is not null and over_4h_type2 is not null and over_4h_other is not null;

-- One row per organisation and month: within a file the first row; across files a file
-- named "revised" wins, then the file whose name sorts last.
create or replace temp macro ae_count(v) as cast(replace(v, ',', '') as bigint);
create or replace temp table monthly_ae as
select
    period_start,
    upper(org_code) as org_code,
    org_name,
    ae_count(attendances_type1) as attendances_type1,
    ae_count(attendances_type2) as attendances_type2,
    ae_count(attendances_other) as attendances_other,
    ae_count(attendances_booked_type1) as attendances_booked_type1,
    ae_count(attendances_booked_type2) as attendances_booked_type2,
    ae_count(attendances_booked_other) as attendances_booked_other,
    ae_count(over_4h_type1) as over_4h_type1,
    ae_count(over_4h_type2) as over_4h_type2,
    ae_count(over_4h_other) as over_4h_other,
    ae_count(over_4h_booked_type1) as over_4h_booked_type1,
    ae_count(over_4h_booked_type2) as over_4h_booked_type2,
    ae_count(over_4h_booked_other) as over_4h_booked_other,
    ae_count(dta_wait_4_to_12h) as dta_wait_4_to_12h,
    ae_count(dta_wait_over_12h) as dta_wait_over_12h,
    ae_count(emergency_admissions_type1) as emergency_admissions_type1,
    ae_count(emergency_admissions_type2) as emergency_admissions_type2,
    ae_count(emergency_admissions_other_ae) as emergency_admissions_other_ae,
    ae_count(emergency_admissions_other) as emergency_admissions_other,
    file_name as source_file
from (
    select * from ae_rows
    qualify row_number() over (partition by file_no, org_code, period_start order by source_row) = 1
)
qualify row_number() over (
    partition by upper(org_code), period_start
    order by contains(lower(file_name), 'revised') desc, file_name desc, source_row desc
) = 1;

-- -------------------------------------------------------------------------------------
-- 6. Metric values (config/metrics.yaml expressions) and the organisation series
-- -------------------------------------------------------------------------------------
-- Per metric: rows the filter keeps, with a numerator (and a denominator where the metric
-- has one), summed per organisation and month.
create or replace temp table metric_values as
select metric_id, org_code, period_start as period_month, numerator, denominator,
    case when denominator is null then numerator when denominator <> 0 then numerator / denominator end as value
from (
{{MONTHLY_AE_METRIC_VALUES}}
);

create or replace temp table metrics as
select m.metric_id, m.polarity, m.target_value,
    m.unit = 'count' or coalesce(bool_and(d.has_denominator), false) as is_poolable
from p_metrics as m
left join p_metric_definitions as d on d.metric_id = m.metric_id
group by m.metric_id, m.polarity, m.target_value, m.unit;

-- A predecessor's values roll up to its reporting code: a poolable metric's whole
-- history; an unpoolable one's only from the successor date (and never averaged).
create or replace temp table organisation_values as
with rolled as (
    select
        case
            when s.reporting_code is null then v.org_code
            when m.is_poolable or v.period_month >= s.succeeded_on then s.reporting_code
            else v.org_code
        end as org_code,
        v.metric_id, v.period_month, m.is_poolable,
        count(*) as n_source_codes,
        sum(v.numerator) as numerator,
        sum(v.denominator) as denominator,
        max(v.value) as single_value
    from metric_values as v
    inner join metrics as m on m.metric_id = v.metric_id
    left join organisation_successors as s on s.org_code = v.org_code
    group by all
)
select org_code, metric_id, period_month,
    case when n_source_codes = 1 or is_poolable then numerator end as numerator,
    case when n_source_codes = 1 or is_poolable then denominator end as denominator,
    case
        when n_source_codes = 1 then single_value
        when not is_poolable then null
        when denominator is null then numerator
        else numerator / nullif(denominator, 0)
    end as value
from rolled;

-- Every series: organisations, collaborations (members while members) and ICBs (as at
-- each month), pooling numerators and denominators of poolable metrics.
create or replace temp table series as
with poolable as (
    select v.* from organisation_values as v
    inner join metrics as m on m.metric_id = v.metric_id
    where m.is_poolable and v.numerator is not null
),
pooled as (
    select 'collaboration' as entity_type, mb.collaboration_id as entity_id, p.metric_id, p.period_month,
        sum(p.numerator) as numerator, sum(p.denominator) as denominator, count(distinct p.org_code) as n_organisations
    from poolable as p
    inner join p_members as mb
        on mb.org_code = p.org_code
        and mb.joined_on < p.period_month + interval 1 month
        and (mb.left_on is null or mb.left_on >= p.period_month)
    group by all
    union all
    select 'icb', i.icb_code, p.metric_id, p.period_month,
        sum(p.numerator), sum(p.denominator), count(distinct p.org_code)
    from poolable as p
    inner join organisation_icb_periods as i
        on i.org_code = p.org_code
        and (i.valid_from is null or i.valid_from <= p.period_month)
        and (i.valid_to is null or p.period_month < i.valid_to)
    group by all
)
select 'organisation' as entity_type, org_code as entity_id, metric_id, period_month, numerator, denominator, value,
    1 as n_organisations
from organisation_values
union all
select entity_type, entity_id, metric_id, period_month, numerator, denominator,
    case when denominator is null then numerator else numerator / nullif(denominator, 0) end,
    cast(n_organisations as integer)
from pooled;

-- -------------------------------------------------------------------------------------
-- 7. SPC (XmR) over every series, with the configured convention's rules (p_spc_settings)
-- -------------------------------------------------------------------------------------
create or replace temp table spc as
with change_points as (
    -- change points per series (null entity = all); on one month the most specific wins
    select k.entity_type, k.entity_id, k.metric_id, c.change_month, c.baseline_points
    from (select distinct entity_type, entity_id, metric_id from series) as k
    inner join p_spc_change_points as c
        on c.metric_id = k.metric_id
        and (c.entity_type is null or c.entity_type = k.entity_type)
        and (c.entity_id is null or c.entity_id = k.entity_id)
    qualify row_number() over (
        partition by k.entity_type, k.entity_id, k.metric_id, c.change_month
        order by case when c.entity_id is not null then 0 when c.entity_type is not null then 1 else 2 end,
            case when c.baseline_points is null then 1 else 0 end, c.baseline_points
    ) = 1
),
timeline as (
    select entity_type, entity_id, metric_id, period_month, value, 1 as is_point, cast(null as integer) as change_baseline
    from series where value is not null
    union all
    select entity_type, entity_id, metric_id, change_month, null, 0, baseline_points from change_points
),
segmented as (
    select *,
        coalesce(
            max(case when is_point = 0 then period_month end) over (
                partition by entity_type, entity_id, metric_id order by period_month, is_point
                rows between unbounded preceding and current row),
            min(case when is_point = 1 then period_month end) over (partition by entity_type, entity_id, metric_id)
        ) as segment_start,
        sum(is_point) over (
            partition by entity_type, entity_id, metric_id order by period_month, is_point
            rows between unbounded preceding and current row) as series_point_number
    from timeline
),
sequenced as (
    select *,
        sum(is_point) over seg as spc_points,
        sum(is_point) over (seg order by period_month, is_point rows between unbounded preceding and current row) as point_number,
        lag(value) over (seg order by period_month, is_point) as previous_value,
        max(change_baseline) over seg as segment_baseline
    from segmented
    window seg as (partition by entity_type, entity_id, metric_id, segment_start)
),
points as (
    select q.entity_type, q.entity_id, q.metric_id, q.period_month, q.value, q.segment_start,
        cast(q.spc_points as integer) as spc_points, cast(q.point_number as integer) as point_number,
        cast(q.series_point_number as integer) as series_point_number, q.previous_value,
        abs(q.value - q.previous_value) as moving_range,
        coalesce(q.segment_baseline, s.baseline_points) is null
            or q.point_number <= coalesce(q.segment_baseline, s.baseline_points) as in_baseline
    from sequenced as q cross join p_spc_settings as s
    where q.is_point = 1
),
centred as (
    select points.*,
        avg(value) filter (where in_baseline) over seg as raw_mean,
        avg(moving_range) filter (where in_baseline) over seg as unscreened_mr_bar
    from points
    window seg as (partition by entity_type, entity_id, metric_id, segment_start)
),
screened as (
    select centred.*,
        case when s.screen_moving_range_outliers then avg(moving_range) filter (
                where in_baseline and (
                    round(moving_range, 6) < round(s.moving_range_outlier_multiplier * unscreened_mr_bar, 6)
                    or (not s.moving_range_outlier_inclusive
                        and round(moving_range, 6) = round(s.moving_range_outlier_multiplier * unscreened_mr_bar, 6)))
            ) over (partition by entity_type, entity_id, metric_id, segment_start)
            else unscreened_mr_bar end as mr_bar,
        s.minimum_points, s.shift_points, s.trend_points, s.limit_multiplier, s.close_to_limit_fraction,
        s.two_of_three_counts_points_beyond_limits as beyond_limit_counts, s.conflicting_signals,
        s.show_mean_below_minimum_points as show_mean,
        s.rules_cross_recalculation = 'all' as side_runs_cross,
        s.rules_cross_recalculation in ('all', 'trend_only') as trend_runs_cross
    from centred cross join p_spc_settings as s
),
lines as (
    select screened.*,
        spc_points >= minimum_points and mr_bar is not null as has_limits,
        case when spc_points >= minimum_points or show_mean then round(raw_mean, 6) end as spc_mean,
        case when spc_points >= minimum_points and mr_bar is not null then round(raw_mean - limit_multiplier * mr_bar, 6) end as spc_lower,
        case when spc_points >= minimum_points and mr_bar is not null then round(raw_mean + limit_multiplier * mr_bar, 6) end as spc_upper,
        case when spc_points >= minimum_points and mr_bar is not null
            then round(raw_mean - close_to_limit_fraction * limit_multiplier * mr_bar, 6) end as spc_lower_close,
        case when spc_points >= minimum_points and mr_bar is not null
            then round(raw_mean + close_to_limit_fraction * limit_multiplier * mr_bar, 6) end as spc_upper_close
    from screened
),
-- only points with limits take part in the rules, each against its own segment's lines
sided as (
    select lines.*,
        case when not has_limits then 0 when value > spc_mean then 1 when value < spc_mean then -1 else 0 end as side,
        case when value > spc_upper_close and (beyond_limit_counts or value <= spc_upper) then 1 else 0 end as close_high,
        case when value < spc_lower_close and (beyond_limit_counts or value >= spc_lower) then 1 else 0 end as close_low
    from lines
),
-- the runs are found over the whole series; a neighbour in another segment belongs to the
-- run only when the rules cross a recalculation
neighbours as (
    select sided.*,
        lag(segment_start) over w as prev_seg, lag(segment_start, 2) over w as prev2_seg, lead(segment_start) over w as next_seg,
        lag(side) over w as prev_side_s, lead(side) over w as next_side_s,
        lag(value) over w as prev_value, lag(value, 2) over w as prev2_value, lead(value) over w as next_value,
        lag(has_limits) over w as prev_limits, lag(has_limits, 2) over w as prev2_limits, lead(has_limits) over w as next_limits,
        sum(side) over (w rows between 2 preceding and current row) as side_sum_3,
        sum(close_high) over (w rows between 2 preceding and current row) as close_high_3,
        sum(close_low) over (w rows between 2 preceding and current row) as close_low_3
    from sided
    window w as (partition by entity_type, entity_id, metric_id order by period_month)
),
linked as (
    select neighbours.*,
        case when prev_seg = segment_start or side_runs_cross then prev_side_s end as previous_side,
        case when next_seg = segment_start or side_runs_cross then next_side_s end as next_side,
        (prev2_seg = segment_start or (prev2_seg is not null and side_runs_cross)) and side_sum_3 = 3 and close_high_3 >= 2
            as high_window,
        (prev2_seg = segment_start or (prev2_seg is not null and side_runs_cross)) and side_sum_3 = -3 and close_low_3 >= 2
            as low_window,
        case when not has_limits or not coalesce(prev_limits, false) or (prev_seg <> segment_start and not trend_runs_cross) then 0
            else sign(value - prev_value) end as direction,
        case when prev_seg is null then null
            when not prev_limits or not coalesce(prev2_limits, false) or (prev2_seg <> prev_seg and not trend_runs_cross) then 0
            else sign(prev_value - prev2_value) end as previous_direction,
        case when next_seg is null then null
            when not has_limits or not next_limits or (next_seg <> segment_start and not trend_runs_cross) then 0
            else sign(next_value - value) end as next_direction
    from neighbours
),
-- runs of one side / one direction as gaps and islands (running max of run starts, running
-- min of run ends)
runs as (
    select linked.*,
        max(case when previous_side is null or previous_side <> side then series_point_number end)
            over (w rows between unbounded preceding and current row) as side_run_first,
        min(case when next_side is null or next_side <> side then series_point_number end)
            over (w rows between current row and unbounded following) as side_run_last,
        bool_or(high_window) over (w rows between current row and 2 following) as high_window_nearby,
        bool_or(low_window) over (w rows between current row and 2 following) as low_window_nearby,
        max(case when previous_direction is null or previous_direction <> direction then series_point_number end)
            over (w rows between unbounded preceding and current row) as direction_run_first,
        min(case when next_direction is null or next_direction <> direction then series_point_number end)
            over (w rows between current row and unbounded following) as direction_run_last,
        min(case when direction = 1 and (next_direction is null or next_direction <> 1) then series_point_number end)
            over (w rows between 1 following and unbounded following) as up_run_end_after,
        min(case when direction = -1 and (next_direction is null or next_direction <> -1) then series_point_number end)
            over (w rows between 1 following and unbounded following) as down_run_end_after
    from linked
    window w as (partition by entity_type, entity_id, metric_id order by period_month)
),
rules as (
    select runs.*,
        has_limits and value > spc_upper as above_upper_limit,
        has_limits and value < spc_lower as below_lower_limit,
        has_limits and side = 1 and side_run_last - side_run_first + 1 >= shift_points as shift_above,
        has_limits and side = -1 and side_run_last - side_run_first + 1 >= shift_points as shift_below,
        has_limits and (
            (direction = 1 and direction_run_last - direction_run_first + 1 >= trend_points - 1)
            or (direction <> 1 and next_direction = 1 and up_run_end_after - series_point_number >= trend_points - 1)
        ) as trend_up,
        has_limits and (
            (direction = -1 and direction_run_last - direction_run_first + 1 >= trend_points - 1)
            or (direction <> -1 and next_direction = -1 and down_run_end_after - series_point_number >= trend_points - 1)
        ) as trend_down,
        close_high = 1 and high_window_nearby as two_of_three_high,
        close_low = 1 and low_window_nearby as two_of_three_low
    from runs
),
flagged as (
    select rules.*,
        coalesce(above_upper_limit, false) as f_above_upper_limit, coalesce(below_lower_limit, false) as f_below_lower_limit,
        coalesce(shift_above, false) as f_shift_above, coalesce(shift_below, false) as f_shift_below,
        coalesce(trend_up, false) as f_trend_up, coalesce(trend_down, false) as f_trend_down,
        coalesce(two_of_three_high, false) as f_two_of_three_high, coalesce(two_of_three_low, false) as f_two_of_three_low
    from rules
),
sides as (
    select flagged.*,
        f_above_upper_limit or f_shift_above or f_trend_up or f_two_of_three_high as high_side,
        f_below_lower_limit or f_shift_below or f_trend_down or f_two_of_three_low as low_side,
        -- the first rule's side: beyond a limit, trend (a point in both trends: the next step's), two of three, shift
        case when f_above_upper_limit then 1 when f_below_lower_limit then -1
            when f_trend_up and f_trend_down then next_direction when f_trend_up then 1 when f_trend_down then -1
            when f_two_of_three_high then 1 when f_two_of_three_low then -1
            when f_shift_above then 1 when f_shift_below then -1 else 0 end as first_rule_side
    from flagged
)
select
    f.entity_type, f.entity_id, f.metric_id, f.period_month, f.segment_start, f.spc_points,
    f.spc_mean, f.spc_lower, f.spc_upper, f.spc_lower_close, f.spc_upper_close,
    case
        when not f.has_limits then null
        when not f.high_side and not f.low_side then 'common_cause'
        when coalesce(m.polarity, 'neutral') not in ('higher_is_better', 'lower_is_better') then 'special_cause_neutral'
        when f.conflicting_signals = 'first_rule' then
            case when f.first_rule_side = (case when m.polarity = 'higher_is_better' then 1 else -1 end)
                then 'improvement' else 'concern' end
        when f.high_side and f.low_side then f.conflicting_signals
        when (f.high_side and m.polarity = 'higher_is_better') or (f.low_side and m.polarity = 'lower_is_better')
            then 'improvement'
        else 'concern'
    end as spc_signal,
    -- the rules that fired, alphabetical, comma-separated
    case when f.has_limits then nullif(concat_ws(',',
        case when f_above_upper_limit then 'above_upper_limit' end,
        case when f_below_lower_limit then 'below_lower_limit' end,
        case when f_shift_above then 'shift_above' end,
        case when f_shift_below then 'shift_below' end,
        case when f_trend_down then 'trend_down' end,
        case when f_trend_up then 'trend_up' end,
        case when f_two_of_three_high then 'two_of_three_high' end,
        case when f_two_of_three_low then 'two_of_three_low' end), '') end as spc_rules,
    case
        when not f.has_limits or m.target_value is null then null
        when m.polarity = 'higher_is_better' then
            case when f.spc_lower > m.target_value then 'consistently_pass'
                 when f.spc_upper < m.target_value then 'consistently_fail' else 'hit_and_miss' end
        when m.polarity = 'lower_is_better' then
            case when f.spc_upper < m.target_value then 'consistently_pass'
                 when f.spc_lower > m.target_value then 'consistently_fail' else 'hit_and_miss' end
    end as spc_assurance
from sides as f
left join metrics as m on m.metric_id = f.metric_id;

-- -------------------------------------------------------------------------------------
-- 8. system_metrics: every series point with its SPC columns and the entity's name
-- -------------------------------------------------------------------------------------
create or replace table system_metrics as
with publication_names as (
    select org_code, arg_max(org_name, [cast(period_start as varchar), org_name]) as org_name
    from (select org_code, trim(org_name) as org_name, period_start from monthly_ae)
    where org_name is not null and lower(org_name) not in ('', 'total')
    group by org_code
),
names as (
    select 'organisation' as entity_type, codes.org_code as entity_id, coalesce(o.org_name, p.org_name) as entity_name
    from (select org_code from organisations union select org_code from publication_names) as codes
    left join organisations as o on o.org_code = codes.org_code
    left join publication_names as p on p.org_code = codes.org_code
    union all
    select 'collaboration', collaboration_id, collaboration_name from p_collaborations
    union all
    select 'icb', icb_code, icb_name from icbs
)
select
    s.entity_type,
    s.entity_id,
    n.entity_name,
    s.period_month,
    'month' as period_grain,
    s.metric_id,
    cast(s.numerator as double) as numerator,
    cast(s.denominator as double) as denominator,
    cast(s.value as double) as value,
    cast(s.n_organisations as integer) as n_organisations,
    spc.segment_start as spc_segment_start,
    spc.spc_points,
    spc.spc_mean,
    spc.spc_lower,
    spc.spc_upper,
    spc.spc_lower_close,
    spc.spc_upper_close,
    spc.spc_signal,
    spc.spc_rules,
    spc.spc_assurance
from series as s
left join spc using (entity_type, entity_id, metric_id, period_month)
left join names as n on n.entity_type = s.entity_type and n.entity_id = s.entity_id;
