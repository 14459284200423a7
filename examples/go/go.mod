module example.com/mypay-sandbox-go

go 1.19
