-- report_results: the data-quality results of the runs given ($ids), in the order they were
-- written.
with wanted as (
    select unnest($ids) as run_id
),

final as (
    select *
    from read_parquet('{{lake}}/dq_results/*/*.parquet', hive_partitioning = false, union_by_name = true,
                      filename = true, file_row_number = true)
    semi join wanted using (run_id)
)

select * exclude (filename, file_row_number) from final order by filename, file_row_number;
