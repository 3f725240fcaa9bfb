-- Manual primary/replica set-up (what deploy/compose.yaml's image does from its environment,
-- and what scripts/stack does for the test stack). Replace the passwords.

-- on the PRIMARY
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'change-me-repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
CREATE DATABASE IF NOT EXISTS quiz CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'quiz'@'%' IDENTIFIED BY 'change-me-quiz';
GRANT ALL PRIVILEGES ON quiz.* TO 'quiz'@'%';
-- optional: lets dashboards and probes read replication state with the application user
GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO 'quiz'@'%';

-- on the REPLICA (after restoring a backup of the primary taken with mariadb-backup, set
-- gtid_slave_pos to the backup's GTID first: SET GLOBAL gtid_slave_pos = '<xtrabackup_binlog_info GTID>';)
-- CHANGE MASTER TO
--   MASTER_HOST = 'mysql-primary', MASTER_PORT = 3306,
--   MASTER_USER = 'repl', MASTER_PASSWORD = 'change-me-repl',
--   MASTER_CONNECT_RETRY = 10, MASTER_USE_GTID = slave_pos;
-- START SLAVE;
-- SHOW SLAVE STATUS\G   -- Slave_IO_Running: Yes, Slave_SQL_Running: Yes, Using_Gtid: Slave_Pos
