-- run_history: one row per run, with its duration, throughput, outcome and versions.
create or replace view run_history as
with source as (
    select * from runs
),

final as (
    select
        run_id,
        status,
        started_at,
        finished_at,
        round(epoch(finished_at - started_at), 3) as seconds,
        n_input,
        n_loaded,
        n_skipped,
        n_duplicates,
        n_quarantined,
        n_mentions,
        round(n_loaded / nullif(epoch(finished_at - started_at), 0), 2) as documents_per_second,
        pipeline_version,
        model,
        error
    from source
)

select * from final;
