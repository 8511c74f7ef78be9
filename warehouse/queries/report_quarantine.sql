-- report_quarantine: the first $limit quarantine rows of each run given ($ids), by path: the
-- files the data-quality report lists.
with wanted as (
    select unnest($ids) as run_id
),

source as (
    select run_id, source_path, stage, reason, detail
    from read_parquet('{{lake}}/quarantine/*/*.parquet', hive_partitioning = false, union_by_name = true)
    semi join wanted using (run_id)
),

final as (
    select * from source
    qualify row_number() over (partition by run_id order by source_path, stage) <= $limit
)

select * from final order by run_id, source_path, stage;
