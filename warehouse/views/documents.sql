-- documents: one row per loaded article: metadata, cleaned body and lineage.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
-- A document reprocessed by a later pipeline or model version has a row per run; the view keeps
-- the latest (run ids sort by time), and the views of its sentences, mentions and removed lines
-- keep the rows of that run.
create or replace view documents as
with source as (
    select * from read_parquet('{{lake}}/documents/*/*.parquet', hive_partitioning = true, union_by_name = true)
),

final as (
    select * from source
    qualify row_number() over (partition by doc_id order by run_id desc) = 1
)

select * from final;
