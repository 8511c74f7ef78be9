-- signatures: one row per loaded original with words: its MinHash signature and LSH band keys,
-- written once as it loads (the state near-duplicates are found in).
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view signatures as
with source as (
    select * from read_parquet('{{lake}}/signatures/*/*.parquet', hive_partitioning = true, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
