<?php
// Reports what PHP's SAPI read from a request: $_POST, $_GET and the names
// in $_FILES, or json_decode of the raw body on /json; on /cookie, $_COOKIE
// under the name the query gives (n, hex). Strings are hex so every byte
// survives; arrays are [key, value] pairs in order.
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

// The path-routing differential: any path but the four below is left to
// the built-in server (return false), which maps it onto the document
// root (docroot/, whose api/login.php is the login script) the way it
// runs any application's scripts, PATH_INFO included. The raw path
// decides, not parse_url's reading of it, so that no spelling of the
// login path lands here.
$endpoint = explode('?', $_SERVER['REQUEST_URI'], 2)[0];
if (!in_array($endpoint, ['/ready', '/json', '/cookie', '/form'], true)) {
    return false;
}
header('Content-Type: application/json');
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/ready') {
    // token: the one the test started this server with, so it knows the
    // server answering on the port is that one.
    echo json_encode(['status' => 'ok', 'version' => PHP_VERSION . ' ' . PHP_SAPI,
        'token' => (string)getenv('LOGIN_GUARD_BODYDIFF_TOKEN')]);
    return true;
}
if ($path === '/json') {
    $d = json_decode(file_get_contents('php://input'), true, 512);
    if ($d === null && json_last_error() !== JSON_ERROR_NONE) {
        echo json_encode(['status' => 'error']);
        return true;
    }
    echo json_encode(['status' => 'ok', 'post' => enc($d)]);
    return true;
}
if ($path === '/cookie') {
    // The cookie differential: $_COOKIE[name] as an application (or the
    // session extension, session_name) looks it up, and under the name as
    // PHP registers it ('.' and ' ' turned into '_'), which is the key an
    // application must use for a name with a dot. null when absent.
    $name = hex2bin($_GET['n'] ?? '');
    $read = function ($k) {
        return array_key_exists($k, $_COOKIE) ? enc($_COOKIE[$k]) : null;
    };
    echo json_encode(['status' => 'ok', 'reads' => [
        'PHP $_COOKIE[name]' => $read($name),
        'PHP $_COOKIE[name as PHP registers it]' => $read(strtr($name, ' .', '__')),
    ], 'cookies' => enc($_COOKIE)]);
    return true;
}
$files = [];
foreach ($_FILES as $k => $f) {
    $files[] = bin2hex((string)$k);
}
echo json_encode(['status' => 'ok', 'post' => enc($_POST), 'query' => enc($_GET), 'files' => $files]);
return true;
