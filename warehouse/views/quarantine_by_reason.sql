-- quarantine_by_reason: one row per stage and reason files were set aside for, over all runs.
create or replace view quarantine_by_reason as
with source as (
    select * from quarantine
),

final as (
    select
        stage,
        reason,
        count(*) as n_files,
        count(distinct source_path) as n_paths,
        count(distinct run_id) as n_runs,
        min(quarantined_at) as first_at,
        max(quarantined_at) as last_at
    from source
    group by stage, reason
)

select * from final;
