-- The first-user admin rule, made race-free: the first account (registered, or created by
-- `gateway admin create`) inserts the one row, slot = 1, in the transaction that creates it;
-- later inserts of the same primary key insert nothing, so exactly one account ever takes
-- the slot. Registration makes the taker admin only when ADMIN_USERNAME is unset.
-- An install that already has users has had its first user: the slot is taken by the oldest.
CREATE TABLE admin_bootstrap (
    slot BIGINT NOT NULL PRIMARY KEY CHECK (slot = 1),
    user_id BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL
);

INSERT INTO admin_bootstrap (slot, user_id, claimed_at)
SELECT 1, id, created_at FROM users ORDER BY id LIMIT 1;
