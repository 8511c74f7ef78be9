-- signature_candidates: the loaded originals that share an LSH band key ($bands) with a run's
-- new documents, with their signatures, in load order (first run, then doc_id): the only
-- signatures a run reads to find its near-duplicates.
with wanted as (
    select unnest($bands) as band
),

matched as (
    select distinct doc_id
    from (
        select doc_id, unnest(bands) as band
        from read_parquet('{{lake}}/signatures/*/*.parquet', hive_partitioning = false, union_by_name = true)
    )
    semi join wanted using (band)
),

final as (
    select doc_id, min(run_id) as first_run, any_value(minhash) as minhash
    from read_parquet('{{lake}}/signatures/*/*.parquet', hive_partitioning = false, union_by_name = true)
    semi join matched using (doc_id)
    group by doc_id
)

select doc_id, minhash from final order by first_run, doc_id;
