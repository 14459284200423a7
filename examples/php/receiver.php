<?php
// The webhook receiver, served by PHP's built-in server (`php -S`): every delivery is
// verified as the Standard Webhooks spec describes (an HMAC-SHA256 of
// "{webhook-id}.{webhook-timestamp}.{body}" with the endpoint's secret, compared in
// constant time, and a timestamp within five minutes) before it is believed. A verified
// event is appended to EVENTS_FILE (one JSON object a line) and answered 204; anything
// else is answered 400 and noted in EVENTS_FILE.refused.

function verified(string $secret, string $body, array $server): ?array
{
    $id = $server['HTTP_WEBHOOK_ID'] ?? '';
    $timestamp = $server['HTTP_WEBHOOK_TIMESTAMP'] ?? '';
    $signatures = $server['HTTP_WEBHOOK_SIGNATURE'] ?? '';
    if ($id === '' || !ctype_digit($timestamp) || abs(time() - (int) $timestamp) > 300) {
        return null;
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret), true);
    $expected = base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $key, true));
    foreach (explode(' ', $signatures) as $versioned) {
        [$version, $signature] = array_pad(explode(',', $versioned, 2), 2, '');
        if ($version === 'v1' && hash_equals($expected, $signature)) {
            return json_decode($body, true);
        }
    }
    return null;
}

$events = getenv('EVENTS_FILE');
$body = file_get_contents('php://input');
$event = verified(getenv('WEBHOOK_SECRET'), $body, $_SERVER);
if ($event === null) {
    file_put_contents("$events.refused", ($_SERVER['HTTP_WEBHOOK_ID'] ?? '?') . "\n", FILE_APPEND | LOCK_EX);
    http_response_code(400);
    return;
}
file_put_contents($events, json_encode($event) . "\n", FILE_APPEND | LOCK_EX);
http_response_code(204);
