-- sentences: one row per sentence of a loaded article, as offsets into documents.body.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view sentences as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/sentences/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

current_runs as (
    -- rows of a document's latest run only (see documents.sql)
    select doc_id, run_id from documents
),

final as (
    select source.* from source semi join current_runs using (doc_id, run_id)
)

select * from final;
