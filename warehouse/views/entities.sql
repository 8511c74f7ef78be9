-- entities: one row per canonical entity, computed from the mentions the views show: the display
-- name (the alias file's, else the most frequent full surface form: two words or more, then the
-- longest, then the first alphabetically), the label (the alias file's, else the most frequent
-- among the full-name mentions, or among all when there is none; ties alphabetically) and counts.
create or replace view entities as
with source as materialized (
    select entity_id, doc_id, text, label, full_name from mentions
),

forms as (
    -- words as Python's str.split() counts them: runs of anything but whitespace
    select
        entity_id,
        text,
        count(*) as n,
        len(regexp_extract_all(text, '[^\s\pZ\x{0b}\x{1c}-\x{1f}\x{85}]+')) as words
    from source
    group by entity_id, text
),

named as (
    select entity_id, first(text order by words < 2, n desc, words desc, text) as name
    from forms
    group by entity_id
),

votes as (
    select
        entity_id,
        label,
        count(*) filter (where full_name) as n_full,
        count(*) as n_all,
        max(count(*) filter (where full_name)) over (partition by entity_id) > 0 as has_full
    from source
    group by entity_id, label
),

labelled as (
    select entity_id, first(label order by case when has_full then n_full else n_all end desc, label) as label
    from votes
    group by entity_id
),

fixed as (
    select entity_id, max_by(fixed_name, run_id) as fixed_name, max_by(fixed_label, run_id) as fixed_label
    from entity_keys
    where fixed_name is not null
    group by entity_id
),

counts as (
    select entity_id, count(*) as n_mentions, count(distinct doc_id) as n_documents
    from source
    group by entity_id
),

final as (
    select
        counts.entity_id,
        coalesce(fixed.fixed_name, named.name) as name,
        coalesce(fixed.fixed_label, labelled.label) as label,
        counts.n_mentions,
        counts.n_documents
    from counts
    inner join named using (entity_id)
    inner join labelled using (entity_id)
    left join fixed using (entity_id)
)

select * from final;
