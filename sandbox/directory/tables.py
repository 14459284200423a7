from piccolo.columns import Varchar
from piccolo.table import Table


class Bank(Table, tablename="bank"):
    code = Varchar(length=16, primary_key=True)
    name = Varchar(length=100)
    # The four-letter bank code inside a PK IBAN (PKkk BBBB …).
    iban_code = Varchar(length=4, unique=True)


class Wallet(Table, tablename="wallet"):
    code = Varchar(length=16, primary_key=True)
    name = Varchar(length=100)
