<?php
// Every scenario of the sandbox, walked by a plain PHP script (exit status 1 on the first
// failure), over HTTP only: the merchant comes from the environment (MYPAY_KEY, made by
// ../job.sh), its clock is manual (moved with POST /sandbox/clock/advance), webhooks
// arrive at receiver.php under `php -S` and are verified there by hand, and one payout's
// answer is lost on purpose and retried with the same idempotency key.

// A warning or notice is a bug in this script: stop on it (the `@` of a call that may get no answer aside).
set_error_handler(function (int $level, string $message, string $file, int $line): bool {
    if (!(error_reporting() & $level)) {
        return false;
    }
    throw new ErrorException($message, 0, $level, $file, $line);
});

$url = getenv('SANDBOX_URL') ?: 'http://127.0.0.1:' . (getenv('SANDBOX_API_PORT') ?: '8000');
$api = "$url/api/v1";
$key = getenv('MYPAY_KEY');
$adminKey = getenv('SANDBOX_ADMIN_KEY'); // an operator releases on_hold payouts
$skip = array_filter(explode(',', getenv('SKIP_SCENARIOS') ?: ''));
// The name the sandbox reaches this machine (or container) by, for its webhooks.
$webhookHost = getenv('WEBHOOK_HOST') ?: '127.0.0.1';

function check(bool $holds, string $what): void
{
    if (!$holds) {
        fwrite(STDERR, "FAILED: $what\n");
        exit(1);
    }
}

check((bool) $key, 'MYPAY_KEY: a merchant key on a manual clock (../job.sh makes one)');
check((bool) $adminKey, 'SANDBOX_ADMIN_KEY: the admin key the sandbox was started with');

/** [status, headers, body]; status 0 when no answer came. */
function call(string $method, string $path, ?array $body = null, ?string $as = null, ?string $idempotencyKey = null): array
{
    global $api, $key;
    $headers = ['X-API-KEY: ' . ($as ?? $key)];
    if ($method !== 'GET') {
        $headers[] = 'X-Idempotency-Key: ' . ($idempotencyKey ?? bin2hex(random_bytes(16)));
    }
    if ($body !== null) {
        $headers[] = 'Content-Type: application/json';
    }
    $context = stream_context_create(['http' => ['method' => $method, 'header' => $headers, 'ignore_errors' => true,
        'content' => $body === null ? '' : json_encode($body), 'timeout' => 30]]);
    $answer = @file_get_contents($api . $path, false, $context);
    if ($answer === false) {
        return [0, [], null];
    }
    $status = (int) explode(' ', $http_response_header[0])[1];
    return [$status, $http_response_header, json_decode($answer, true)];
}

function ok(string $method, string $path, ?array $body = null, ?string $as = null): array
{
    [$status, , $json] = call($method, $path, $body, $as);
    check($status >= 200 && $status < 300, "$method $path answered $status: " . json_encode($json));
    return $json;
}

function payout(string $suffix, ?string $idempotencyKey = null): array
{
    return call('POST', '/payouts', ['amount' => '1500.00', 'currency' => 'PKR', 'destination' => [
        'type' => 'bank', 'bank_code' => 'HBL', 'account_number' => "1234567890$suffix", 'account_title' => 'Ali Raza']],
        null, $idempotencyKey);
}

function advance_until_idle(): void
{
    $moved = ok('POST', '/sandbox/clock/advance', ['until' => 'idle']);
    echo "clock: {$moved['steps_applied']} steps applied, idle: " . json_encode($moved['idle']) . "\n";
}

// The receiver, on a free port, told the endpoint's secret.
$probe = stream_socket_server('tcp://0.0.0.0:0');
$port = (int) explode(':', stream_socket_get_name($probe, false))[1];
fclose($probe);
$events = tempnam(sys_get_temp_dir(), 'mypay-events-');
$endpoint = ok('POST', '/webhook-endpoints', ['url' => "http://$webhookHost:$port/webhooks", 'events' => ['*'],
    'signing' => 'hmac-sha256']);
$receiver = proc_open([PHP_BINARY, '-S', "0.0.0.0:$port", __DIR__ . '/receiver.php'],
    [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes,
    null, ['EVENTS_FILE' => $events, 'WEBHOOK_SECRET' => $endpoint['secret']]);
register_shutdown_function(function () use ($receiver, $endpoint, $events) {
    call('DELETE', "/webhook-endpoints/{$endpoint['id']}");
    proc_terminate($receiver);
    @unlink($events);
    @unlink("$events.refused");
});

function webhook(string $type, string $payoutId, float $timeout = 30.0): array
{
    global $events;
    $deadline = microtime(true) + $timeout;
    for (;;) {
        foreach (file($events, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [] as $line) {
            $event = json_decode($line, true);
            if ($event['type'] === $type && ($event['data']['id'] ?? null) === $payoutId) {
                return $event;
            }
        }
        check(microtime(true) < $deadline, "no verified $type webhook for $payoutId in {$timeout}s");
        usleep(50_000);
    }
}

// Every scenario, to its end.
$walked = [];
foreach (ok('GET', '/sandbox/scenarios')['scenarios'] as $scenario) {
    if (in_array($scenario['name'], $skip, true)) {
        continue;
    }
    [$status, , $made] = payout($scenario['suffix']);
    check($status === 201 && $made['scenario'] === $scenario['name'], "payout for {$scenario['name']}: $status");
    $walked[] = [$scenario, $made['id']];
}
advance_until_idle(); // every step the scenarios schedule, at once and in order
foreach ($walked as [$scenario, $id]) {
    $resting = ok('GET', "/payouts/$id")['status'];
    if ($resting === 'pending' && end($scenario['path']) === 'pending') {
        ok('POST', "/sandbox/payouts/$id/simulate", ['status' => 'success']); // the bank's answer
    } elseif ($resting === 'on_hold') {
        ok('POST', "/admin/payouts/$id/release", null, $adminKey); // an operator's act
    }
}
advance_until_idle();
foreach ($walked as [$scenario, $id]) {
    $end = ($scenario['after_release'] ?? []) ? end($scenario['after_release'])['status']
        : (end($scenario['path']) === 'pending' ? 'success' : end($scenario['path']));
    $event = webhook("payout.$end", $id);
    check($event['data']['status'] === $end, "{$scenario['name']}: $id is {$event['data']['status']}, not $end");
    echo "ok  {$scenario['name']}: $id reached $end, webhook verified\n";
}

// A lost answer, retried with the same idempotency key: one payout, the first answer replayed.
ok('POST', '/sandbox/faults', ['fault' => 'response_lost', 'method' => 'POST', 'path' => '/payouts', 'times' => 1]);
$idempotencyKey = bin2hex(random_bytes(16));
check(payout('0001', $idempotencyKey)[0] === 0, 'the faulted POST /payouts got an answer');
[$status, $headers] = payout('0001', $idempotencyKey);
check($status === 201 && in_array('idempotent-replayed: true', array_map('strtolower', $headers), true),
    "the retry answered $status without Idempotent-Replayed: true");
echo "ok  a lost answer retried with the same idempotency key: paid once\n";

check(!file_exists("$events.refused") || filesize("$events.refused") === 0, 'deliveries failed verification');
echo "all scenarios passed\n";
