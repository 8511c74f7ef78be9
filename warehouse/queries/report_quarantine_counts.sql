-- report_quarantine_counts: how many inputs each run given ($ids) quarantined, by reason: the
-- report's chart of the quarantined share.
with wanted as (
    select unnest($ids) as run_id
),

final as (
    select run_id, reason, count(*) as n
    from read_parquet('{{lake}}/quarantine/*/*.parquet', hive_partitioning = false, union_by_name = true)
    semi join wanted using (run_id)
    group by all
)

select * from final order by all;
