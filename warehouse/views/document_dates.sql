-- document_dates: one row per loaded document, with the source and the day it is counted under.
-- source: the folder the input file was found in (e.g. a scraper's per-site folder); day: the
-- publication date, else the page's own date, else the UTC day it was loaded.
create or replace view document_dates as
with source as (
    select * from documents
),

final as (
    select
        doc_id,
        coalesce(nullif(regexp_extract(source_path, '([^/]+)/[^/]+$', 1), ''), '(top level)') as source,
        coalesce(cast(published_at as date), page_date, cast(timezone('UTC', ingested_at) as date)) as day,
        duplicate_of is not null as is_duplicate,
        n_chars_body
    from source
)

select * from final;
