-- documents_per_source_day: one row per source and day (see document_dates) with documents loaded.
create or replace view documents_per_source_day as
with source as (
    select * from document_dates
),

final as (
    select
        source,
        day,
        count(*) as n_documents,
        count(*) filter (where not is_duplicate) as n_originals,
        count(*) filter (where is_duplicate) as n_duplicates,
        sum(n_chars_body) as n_chars_body
    from source
    group by source, day
)

select * from final;
