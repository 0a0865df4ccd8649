# Sourced by .ci/run (and usable by developers: `. .ci/databases.sh`):
# makes sure PostgreSQL and MariaDB run on 127.0.0.1, installing them with
# apt-get when missing, and exports the addresses the tests read:
#   SUNDIAL_TEST_POSTGRES  postgres://USER[:PW]@127.0.0.1:5432/postgres
#   SUNDIAL_TEST_MYSQL     mysql://USER[:PW]@127.0.0.1:3306/mysql
# Tests create (and drop) a database of their own under these servers.

sundial_apt_updated=""
sundial_apt_install() {
	if [ -z "$sundial_apt_updated" ]; then
		apt-get update -qq
		sundial_apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

sundial_wait() { # sundial_wait WHAT COMMAND...: up to 60 s
	local what=$1
	shift
	for _ in $(seq 120); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	echo "databases.sh: $what did not come up" >&2
	return 1
}

sundial_postgres() {
	if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
		echo "databases.sh: installing PostgreSQL" >&2
		sundial_apt_install postgresql postgresql-client
	fi
	local ver
	ver=$(ls /etc/postgresql | sort -V | tail -1)
	if ! pg_isready -q -h 127.0.0.1 -p 5432; then
		pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
	fi
	sundial_wait "PostgreSQL" pg_isready -q -h 127.0.0.1 -p 5432
	if psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
		export SUNDIAL_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/postgres"
		return
	fi
	# A fresh install asks for a password over TCP: give the postgres
	# role one through the local socket.
	su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'sundial'\"" >/dev/null
	export SUNDIAL_TEST_POSTGRES="postgres://postgres:sundial@127.0.0.1:5432/postgres"
}

sundial_mysql() {
	if ! [ -x /usr/sbin/mariadbd ] && ! command -v mysqld >/dev/null; then
		echo "databases.sh: installing MariaDB" >&2
		sundial_apt_install mariadb-server mariadb-client
	fi
	if ! mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1 &&
		! mysqladmin -h 127.0.0.1 -P 3306 -usundial -psundial ping >/dev/null 2>&1; then
		mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
	fi
	sundial_wait "MariaDB" sh -c 'mysqladmin -h 127.0.0.1 -P 3306 -uroot ping || mysqladmin -h 127.0.0.1 -P 3306 -usundial -psundial ping'
	if mysql -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
		export SUNDIAL_TEST_MYSQL="mysql://root@127.0.0.1:3306/mysql"
		return
	fi
	# A fresh install lets root in through the socket only: add a user
	# for TCP.
	mysql -uroot -e "CREATE USER IF NOT EXISTS 'sundial'@'127.0.0.1' IDENTIFIED BY 'sundial';
		CREATE USER IF NOT EXISTS 'sundial'@'localhost' IDENTIFIED BY 'sundial';
		GRANT ALL ON *.* TO 'sundial'@'127.0.0.1'; GRANT ALL ON *.* TO 'sundial'@'localhost';"
	export SUNDIAL_TEST_MYSQL="mysql://sundial:sundial@127.0.0.1:3306/mysql"
}

sundial_postgres
sundial_mysql
echo "databases: SUNDIAL_TEST_POSTGRES=$SUNDIAL_TEST_POSTGRES SUNDIAL_TEST_MYSQL=$SUNDIAL_TEST_MYSQL"
