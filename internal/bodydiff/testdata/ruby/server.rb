# Reports what Rack reads from a request: Rack::Request#POST and #GET
# (nested params, multipart), or JSON.parse of the raw body on /json (what
# a Rails or Sinatra JSON endpoint does), or a Rails API controller's
# params[:session] on /rails; /cookie reads the cookie the query names (n,
# hex) as Rack does. Strings are hex so every byte
# survives; hashes are [key, value] pairs. Run as a script it serves APP
# with WEBrick; config.ru serves the same APP under Puma.
require 'json'
require 'rack'
require 'rack/handler/webrick'
require 'webrick'
require 'action_dispatch'

# The path-routing differential: a request with X-Router: rails goes to
# Rails' router (ActionDispatch, the login route declared as a Rails app's
# routes.rb declares it, which adds an optional (.:format)), and
# X-Router: rack to Rack::URLMap, what `map '/api/login'` in a config.ru
# builds. Each login endpoint answers the marker the test looks for and
# the user it reads (params, as a controller reads it).
LOGIN_MARKER = 'login-route-reached'
rails_routes = ActionDispatch::Routing::RouteSet.new
rails_routes.draw do
  post '/api/login', to: ->(env) { [200, { 'Content-Type' => 'text/plain' }, ["#{LOGIN_MARKER} rails #{env['SERVER_SOFTWARE']} user=#{ActionDispatch::Request.new(env).params['username']}"]] }
end
rack_map = Rack::URLMap.new('/api/login' => ->(env) { [200, { 'Content-Type' => 'text/plain' }, ["#{LOGIN_MARKER} rack #{env['SERVER_SOFTWARE']} user=#{Rack::Request.new(env).params['username']}"]] })
routers = { 'rails' => rails_routes, 'rack' => rack_map }

def enc(v)
  case v
  when String then { 's' => v.b.unpack1('H*') }
  when Array then { 'l' => v.map { |x| enc(x) } }
  when Hash then { 'm' => v.map { |k, x| [k.to_s.b.unpack1('H*'), enc(x)] } }
  when Numeric then { 'j' => v.to_s }
  else { 'j' => v.nil? ? 'null' : v.to_s.to_json }
  end
end

# The Rails JSON reading (/rails): a controller as a Rails API app has one.
# Its ParamsWrapper (on for JSON in every new Rails app) copies a JSON
# body's keys under the controller's name, params[:session], unless the
# body has that key itself; the controller reads the login from
# params[:session] (params.require(:session)), while the browser sends
# the keys flat. Only JSON bodies are wrapped: others are refused here.
require 'action_controller'
class SessionsController < ActionController::API
  wrap_parameters format: [:json]

  def create
    s = params[:session] if request.media_type == 'application/json'
    out = if s.is_a?(ActionController::Parameters)
            { 'status' => 'ok', 'post' => enc(s.to_unsafe_h) }
          else
            { 'status' => 'error', 'detail' => 'not a JSON body with a session object' }
          end
    render json: out
  end
end
RAILS_SESSIONS = SessionsController.action(:create)

APP = lambda do |env|
  router = routers[env['HTTP_X_ROUTER']]
  next router.call(env) if router
  if env['PATH_INFO'] == '/rails'
    begin
      next RAILS_SESSIONS.call(env)
    rescue StandardError => e
      next [200, { 'Content-Type' => 'application/json' }, [JSON.generate({ 'status' => 'error', 'detail' => e.class.to_s })]]
    end
  end

  req = Rack::Request.new(env)
  out =
    begin
      case req.path_info
      # token: the one the test started this server with.
      when '/ready' then { 'status' => 'ok', 'version' => "#{env['SERVER_SOFTWARE']}, rack #{Rack.release}, actionpack #{ActionPack.version}, ruby #{RUBY_VERSION}",
                           'token' => ENV['LOGIN_GUARD_BODYDIFF_TOKEN'].to_s }
      # The cookie differential: Rack::Request#cookies[name], what Rails'
      # and Sinatra's sessions read; null when absent.
      when '/cookie'
        name = [req.GET['n'].to_s].pack('H*')
        v = req.cookies[name]
        { 'status' => 'ok', 'reads' => { 'Rack request.cookies' => v.nil? ? nil : enc(v) } }
      when '/json' then { 'status' => 'ok', 'post' => enc(JSON.parse(req.body.read)) }
      else
        post = req.POST
        files = post.select { |_, v| v.is_a?(Hash) && v.key?(:tempfile) }.keys.map { |k| k.to_s.b.unpack1('H*') }
        { 'status' => 'ok', 'post' => enc(post), 'query' => enc(req.GET), 'files' => files }
      end
    rescue StandardError => e
      { 'status' => 'error', 'detail' => e.class.to_s }
    end
  [200, { 'Content-Type' => 'application/json' }, [JSON.generate(out)]]
end

if $PROGRAM_NAME == __FILE__
  Rack::Handler::WEBrick.run(APP, Host: '127.0.0.1', Port: ARGV[0].to_i,
                                  Logger: WEBrick::Log.new(File::NULL), AccessLog: [])
end
