-- quarantine: one row per input file set aside instead of loaded, with stage and reason.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view quarantine as
with source as (
    select * from read_parquet('{{lake}}/quarantine/*/*.parquet', hive_partitioning = true, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
