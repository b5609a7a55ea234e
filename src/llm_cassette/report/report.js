(function(){
var box=document.getElementById('filter');if(!box)return;
var rows=Array.prototype.slice.call(document.querySelectorAll('tr[data-target]'));
var secs=rows.map(function(r){return document.getElementById(r.getAttribute('data-target'));});
var hay=rows.map(function(r,i){return (r.textContent+' '+(secs[i]?secs[i].textContent:'')).toLowerCase();});
var groups=Array.prototype.slice.call(document.querySelectorAll('tbody[data-group]'));
var shown=document.getElementById('shown');
function apply(){
var words=box.value.toLowerCase().split(/\s+/).filter(Boolean),n=0;
rows.forEach(function(r,i){
var ok=words.every(function(w){return hay[i].indexOf(w)>=0;});
r.hidden=!ok;if(secs[i])secs[i].hidden=!ok;if(ok)n++;});
groups.forEach(function(g){g.hidden=!g.querySelector('tr[data-target]:not([hidden])');});
shown.textContent=words.length?n+' of '+rows.length+' cassettes match':'';}
var q=new URLSearchParams(location.search).get('q');if(q)box.value=q;
box.addEventListener('input',apply);apply();
})();
