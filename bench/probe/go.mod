module srbench/probe

go 1.21
