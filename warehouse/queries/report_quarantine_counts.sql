-- report_quarantine_counts: how many inputs each run given ($ids) quarantined, by reason: the
-- report's chart of the quarantined share.
select run_id, reason, count(*) as n
from read_parquet('{{lake}}/quarantine/*/*.parquet', hive_partitioning = false, union_by_name = true)
where run_id in (select unnest($ids))
group by all
order by all;
