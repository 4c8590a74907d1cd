<?php
// A front controller as Symfony and Laravel apps have one (public/index.php
// behind php_fastcgi's try_files): every request runs it, and the router
// matches the path Symfony's Request reads (getPathInfo: REQUEST_URI less
// the script's base URL) against the app's routes, here the login route
// declared as #[Route('/api/login', methods: ['POST'])] declares it.
require_once '/usr/share/php/Symfony/Component/HttpFoundation/autoload.php';
require_once '/usr/share/php/Symfony/Component/Routing/autoload.php';

use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Routing\Exception\ExceptionInterface;
use Symfony\Component\Routing\Matcher\UrlMatcher;
use Symfony\Component\Routing\RequestContext;
use Symfony\Component\Routing\Route;
use Symfony\Component\Routing\RouteCollection;

$routes = new RouteCollection();
$routes->add('login', new Route('/api/login', [], [], [], '', [], ['POST']));
$request = Request::createFromGlobals();
$matcher = new UrlMatcher($routes, (new RequestContext())->fromRequest($request));
try {
    $matcher->matchRequest($request);
    echo 'login-route-reached symfony ' . PHP_SAPI . ' user=' . $request->request->get('username', '');
} catch (ExceptionInterface $e) {
    http_response_code(404);
    echo get_class($e);
}
