-- quotes: one row per direct quotation, offsets into documents.body, speaker resolved to an entity.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view quotes as
with source as (
    select * from read_parquet('{{lake}}/quotes/*/*.parquet', hive_partitioning = true, union_by_name = true)
),

current_runs as (
    -- rows of a document's latest run only (see documents.sql)
    select doc_id, run_id from documents
),

final as (
    select source.* from source semi join current_runs using (doc_id, run_id)
)

select * from final;
