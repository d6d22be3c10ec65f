select
    cast(instrument_id as varchar) as instrument_id,
    cast(item_id as varchar) as item_id,
    cast(characteristic_id as varchar) as characteristic_id,
    cast(is_reverse_keyed as boolean) as is_reverse_keyed
from {{ source('clean', 'instrument_items') }}
