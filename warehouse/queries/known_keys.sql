-- known_keys: what the lake and the run's earlier chunks (the lake's files and
-- the run's parts) know of the entity keys a chunk may join: its own keys ($keys) and the keys
-- sharing a resolver block with them ($blocks), each with its entity and its counts summed over
-- the chunks that mentioned it (labels as one list of (label, count) pairs per row).
-- An initials block ("i:") reaches only the acronym itself and the keys with a short form
-- (`transforms.resolve.reaches`).
with wanted_blocks as (
    select unnest($blocks) as block
),

with_short_forms as (
    select distinct alias_key
    from read_parquet({{entity_keys}}, hive_partitioning = false, union_by_name = true)
    where len(short_forms) > 0
),

neighbours as (
    select distinct alias_key
    from (
        select alias_key, unnest(blocks) as block
        from read_parquet({{entity_keys}}, hive_partitioning = false, union_by_name = true)
        where blocks is not null
    )
    semi join wanted_blocks using (block)
    where not starts_with(block, 'i:') or block = 'i:' || alias_key or alias_key in (select alias_key from with_short_forms)
    union
    select unnest($keys) as alias_key
),

final as (
    select
        alias_key,
        any_value(entity_id) as entity_id,
        sum(n_mentions) as n_mentions,
        list(labels) as labels,
        bool_or(acronym) as acronym,
        flatten(list(short_forms)) as short_forms
    from read_parquet({{entity_keys}}, hive_partitioning = false, union_by_name = true)
    semi join neighbours using (alias_key)
    group by alias_key
)

select * from final;
