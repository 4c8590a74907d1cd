<?php
// Reports what a Laravel app reads from a request: the Illuminate\Http\Request
// that public/index.php builds (Request::capture()) and $request->input()
// with no key, the array that input('email'), only() and a FormRequest's
// validated() look names up in with data_get (a dotted name reads nested
// arrays): the body merged over the query string, the body winning; the
// body is the JSON document when isJson() (the Content-Type contains
// "/json" or "+json"), else PHP's $_POST. Strings are hex so every byte
// survives; arrays are [key, value] pairs in order. It runs under PHP's
// built-in server and php-fpm, as router.php does, with mbstring (Laravel
// requires it) and opcache loaded.
require_once '/usr/share/php/Illuminate/Http/autoload.php';

use Illuminate\Http\Request;

function enc($v) {
    if (is_string($v)) {
        return ['s' => bin2hex($v)];
    }
    if (is_array($v)) {
        $out = [];
        foreach ($v as $k => $x) {
            $out[] = [bin2hex((string)$k), enc($x)];
        }
        return ['m' => $out];
    }
    $j = json_encode($v);
    return ['j' => $j === false ? gettype($v) : $j];
}

header('Content-Type: application/json');
$endpoint = explode('?', $_SERVER['REQUEST_URI'], 2)[0];
if ($endpoint === '/ready') {
    require_once '/usr/share/php/Illuminate/Foundation/Application.php';
    // token: the one the test started this server with.
    echo json_encode(['status' => 'ok',
        'version' => PHP_VERSION . ' ' . PHP_SAPI . ', laravel ' . Illuminate\Foundation\Application::VERSION,
        'token' => (string)getenv('LOGIN_GUARD_BODYDIFF_TOKEN')]);
    return;
}
if ($endpoint !== '/input') {
    http_response_code(404);
    echo json_encode(['status' => 'error', 'detail' => 'no such endpoint']);
    return;
}
try {
    $request = Request::capture();
    echo json_encode(['status' => 'ok', 'post' => enc($request->input()), 'query' => ['m' => []]]);
} catch (Throwable $e) {
    echo json_encode(['status' => 'error', 'detail' => get_class($e)]);
}
