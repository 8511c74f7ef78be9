-- report_runs: the latest $n runs, newest first, each with the number of runs the lake holds
-- (n_runs): what the data-quality report's front page shows.
select *, count(*) over () as n_runs
from read_parquet('{{lake}}/runs/*/*.parquet', hive_partitioning = false, union_by_name = true)
order by run_id desc
limit $n;
