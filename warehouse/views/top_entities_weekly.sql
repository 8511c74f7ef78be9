-- top_entities_weekly: one row per week (Monday) and entity among that week's 20 most mentioned.
-- The week is that of the documents' day (see document_dates); ties share a rank. Mentions are
-- counted from sentence_entities (the mentions grouped by sentence and entity).
create or replace view top_entities_weekly as
with weeks as (
    select doc_id, cast(date_trunc('week', day) as date) as week from document_dates
),

counted as (
    select w.week, s.entity_id, cast(sum(s.n_mentions) as bigint) as n_mentions, count(distinct s.doc_id) as n_documents
    from sentence_entities as s
    inner join weeks as w using (doc_id)
    group by w.week, s.entity_id
),

ranked as (
    select
        c.week,
        rank() over (partition by c.week order by c.n_mentions desc, c.n_documents desc) as rank,
        c.entity_id,
        e.name,
        e.label,
        c.n_mentions,
        c.n_documents
    from counted as c
    inner join entities as e using (entity_id)
),

final as (
    select * from ranked where rank <= 20
)

select * from final;
