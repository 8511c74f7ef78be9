-- signatures: one row per loaded original with words: its MinHash signature and LSH band keys,
-- written as it loads (the state near-duplicates are found in); a document processed again (a new
-- pipeline or model version, a repair) has a row per run, and the view keeps the latest.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view signatures as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/signatures/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

final as (
    select * from source
    qualify row_number() over (partition by doc_id order by run_id desc) = 1
)

select * from final;
