-- documents: one row per loaded article: metadata, cleaned body and lineage.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
-- A document reprocessed by a later pipeline or model version has a row per run; the view keeps
-- the latest (run ids sort by time), and the views of its sentences, mentions and removed lines
-- keep the rows of that run.
create or replace view documents as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/documents/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

latest as (
    select doc_id, max(run_id) as run_id from source group by doc_id
),

final as (
    select source.* from source semi join latest using (doc_id, run_id)
)

select * from final;
